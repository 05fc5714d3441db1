using Microsoft.Extensions.Hosting;
using QuotaGrains.Silo.Hosting;

// appsettings.json ships beside the binary, so `dotnet run --project` works from any folder.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddQuotaEngine(demo: args.Contains("--demo"));
return await builder.Build().RunQuotaEngineAsync(); // 0, or 78 (EX_CONFIG) when a setting is refused
