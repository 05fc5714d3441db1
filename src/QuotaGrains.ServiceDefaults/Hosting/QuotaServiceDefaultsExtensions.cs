using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using QuotaGrains.ServiceDefaults;
using QuotaGrains.ServiceDefaults.Options;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// What every host of the engine has (in the manner of eShop's ServiceDefaults): OpenTelemetry metrics (the engine's and
/// the client's <c>quota.*</c>, Orleans', the .NET runtime's, ASP.NET Core's), traces (the engine's spans and Orleans'
/// grain calls, parent-based sampling), logs with the trace id, OTLP export when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is
/// set, and health checks. The silo calls it; a generation server calls it too, beside <c>UseOrleansClient</c> (with
/// <c>services.AddSampledTracePropagation()</c> for its sampled spans to continue in the silo).
/// </summary>
public static class QuotaServiceDefaultsExtensions
{
    private static readonly JsonSerializerOptions HealthJson = new() { WriteIndented = true };

    public static TBuilder AddQuotaServiceDefaults<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        var section = builder.Configuration.GetSection(QuotaTelemetryOptions.SectionName);
        var telemetry = section.Get<QuotaTelemetryOptions>() ?? new QuotaTelemetryOptions();
        builder.Services.AddOptions<QuotaTelemetryOptions>().Bind(section).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<QuotaTelemetryOptions>, QuotaTelemetryOptionsValidator>());

        // Every log line carries the trace and span it was written in (console scopes, OTLP log records).
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        var otlp = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        if (otlp)
        {
            builder.Logging.AddOpenTelemetry(o =>
            {
                o.IncludeFormattedMessage = true;
                o.IncludeScopes = true;
            });
        }

        var open = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Environment.ApplicationName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(QuotaTelemetry.MeterName, QuotaTelemetry.OrleansMeterName)
                    .AddRuntimeInstrumentation()
                    .AddAspNetCoreInstrumentation();
                if (telemetry.Prometheus)
                {
                    metrics.AddPrometheusExporter();
                }
            });
        if (telemetry.Traces)
        {
            open.WithTracing(tracing => tracing
                .SetSampler(new ParentBasedSampler(new TraceIdRatioBasedSampler(Math.Clamp(telemetry.TraceSamplingRatio, 0, 1))))
                .AddSource(QuotaTelemetry.ActivitySourceName, QuotaTelemetry.OrleansApplicationSourceName)
                // Probes and scrapes every few seconds would be most of the traces.
                .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsOperational(context.Request.Path, telemetry)));
        }

        if (otlp)
        {
            open.UseOtlpExporter();
        }

        builder.Services.AddHealthChecks().AddCheck("self", () => HealthCheckResult.Healthy("The process answers."), [QuotaTelemetry.LiveTag]);
        return builder;
    }

    /// <summary><c>/health/live</c> (the process answers), <c>/health/ready</c> (every check tagged
    /// <see cref="QuotaTelemetry.ReadyTag"/>; 503 when one is unhealthy) and, when <c>Quota:Telemetry:Prometheus</c>,
    /// the metrics at <c>Quota:Telemetry:MetricsPath</c>.</summary>
    public static WebApplication MapQuotaDefaultEndpoints(this WebApplication app)
    {
        app.MapHealthChecks(QuotaTelemetry.LivePath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(QuotaTelemetry.LiveTag),
            ResponseWriter = WriteHealthAsync,
        });
        app.MapHealthChecks(QuotaTelemetry.ReadyPath, new HealthCheckOptions
        {
            Predicate = r => r.Tags.Contains(QuotaTelemetry.ReadyTag),
            ResponseWriter = WriteHealthAsync,
        });

        // Read, not resolved: resolving validates, and a host reports refused settings when it starts, not here.
        var telemetry = app.Configuration.GetSection(QuotaTelemetryOptions.SectionName).Get<QuotaTelemetryOptions>() ?? new QuotaTelemetryOptions();
        if (telemetry.Prometheus)
        {
            app.MapPrometheusScrapingEndpoint(telemetry.MetricsPath);
        }

        return app;
    }

    private static bool IsOperational(PathString path, QuotaTelemetryOptions telemetry) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments(telemetry.MetricsPath);

    /// <summary>The overall status and each check's, so that an operator reading a failed probe sees which one failed.</summary>
    private static Task WriteHealthAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        var body = new
        {
            status = report.Status.ToString(),
            checks = report.Entries.ToDictionary(
                e => e.Key,
                e => new { status = e.Value.Status.ToString(), description = e.Value.Description, durationMs = Math.Round(e.Value.Duration.TotalMilliseconds, 1) }),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body, HealthJson));
    }
}
