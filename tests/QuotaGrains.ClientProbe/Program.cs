using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using QuotaGrains.ClientProbe;

// dotnet QuotaGrains.ClientProbe.dll <gateway port> <service id> <cluster id>
// Reads one command a line on standard input, writes one JSON line per outcome on standard output (Probe.cs).
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args[3..] });
builder.Logging.ClearProviders();
builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.UseOrleansClient(client => client
    .UseStaticClustering(new IPEndPoint(IPAddress.Loopback, int.Parse(args[0])))
    .Configure<ClusterOptions>(o =>
    {
        o.ServiceId = args[1];
        o.ClusterId = args[2];
    }));
builder.Services.AddQuotaClient();
builder.Services.AddSingleton<Probe>();

using var host = builder.Build();
await host.StartAsync();
await host.Services.GetRequiredService<Probe>().RunAsync(Console.In, Console.Out);
await host.StopAsync();
