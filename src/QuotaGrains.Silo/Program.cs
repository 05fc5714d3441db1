using Microsoft.AspNetCore.Builder;
using QuotaGrains.Silo.Hosting;

// appsettings.json ships beside the binary, so `dotnet run --project` works from any folder.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddQuotaEngine(demo: args.Contains("--demo"));
var app = builder.Build();
app.MapQuotaEngineEndpoints();
return await app.RunQuotaEngineAsync(); // 0, or 78 (EX_CONFIG) when a setting is refused
