using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace QuotaGrains.LoadTest.Reporting;

/// <summary>Writes reports to the terminal, and as JSON and Markdown files.</summary>
public static partial class ReportWriter
{
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter() },

        // A ratio with nothing to compare (e.g. reserve p99 against the raw Table loop, which has no reserves) is NaN.
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private static CultureInfo Inv => CultureInfo.InvariantCulture;

    // ---- Terminal ----------------------------------------------------------------------------------------------

    public static void Print(RunReport r)
    {
        AnsiConsole.WriteLine();
        AnsiConsole.Write(new Rule($"[bold]{Markup.Escape(r.Target)}[/] · {Markup.Escape(r.Scenario)}").LeftJustified());
        var w = r.Workload;
        AnsiConsole.MarkupLine(Markup.Escape(string.Create(Inv,
            $"{w.Spaces:N0} Spaces ({w.Skew}), {w.Users:N0} users, {w.MembersPerSpace} members each, {w.Concurrency} in flight, {r.MeasuredSeconds:0.0} s measured after {r.WarmupSeconds:0.#} s warm-up; setup {r.SetupSeconds:0.0} s{(r.LoadAverage is null ? "" : $"; load average {r.LoadAverage}")}")));
        AnsiConsole.MarkupLine(string.Create(Inv,
            $"[bold]{r.RequestsPerSecond:N0} requests/s[/] ({r.Requests:N0} requests), {r.WritesPerSecond:N0} writes/s, {r.FlowsPerSecond:N0} flows/s; p99 {r.AllRequests.P99Ms:0.###} ms, p99.9 {r.AllRequests.P999Ms:0.###} ms, max {r.AllRequests.MaxMs:0.###} ms"));

        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in new[] { "kind", "count", "per s", "mean ms", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms" })
        {
            table.AddColumn(column == "kind" ? new TableColumn(column) : new TableColumn(column).RightAligned());
        }

        foreach (var k in r.Kinds.Append(r.AllRequests))
        {
            table.AddRow(k.Kind, k.Count.ToString("N0", Inv), k.PerSecond.ToString("N0", Inv), F(k.MeanMs), F(k.P50Ms), F(k.P90Ms), F(k.P99Ms), F(k.P999Ms), F(k.MaxMs));
        }

        AnsiConsole.Write(table);
        if (r.Rejections.Count > 0)
        {
            AnsiConsole.MarkupLine("rejections: " + Markup.Escape(string.Join(", ", r.Rejections.Select(p => $"{p.Key} {p.Value:N0}"))));
        }

        AnsiConsole.MarkupLine(r.ErrorCount == 0 ? "errors: 0" : $"[red]errors: {Markup.Escape(string.Join(", ", r.Errors.Select(p => $"{p.Key} {p.Value:N0}")))}[/] (first: {Markup.Escape(r.FirstError ?? "")})");
        var p = r.Process;
        AnsiConsole.MarkupLine(Markup.Escape(string.Create(Inv,
            $"process: CPU {p.CpuPercentOfOneCore:0}% of one core ({p.CpuPercentOfMachine:0}% of {r.Machine.ProcessorCount} cores, {p.CpuMicrosecondsPerRequest:0.0} µs/request), working set {p.WorkingSetMiB:0} MiB (peak {p.PeakWorkingSetMiB:0}), GC heap {p.GcHeapMiB:0} MiB, allocated {p.AllocatedMiBPerSecond:0} MiB/s ({p.AllocatedBytesPerRequest:0} B/request), GC {p.Gen0Collections}/{p.Gen1Collections}/{p.Gen2Collections}, pause {p.GcPausePercent:0.##}%")));
        if (r.Processes.Count > 1)
        {
            AnsiConsole.MarkupLine(Markup.Escape("processes (CPU % of one core, µs per request, RSS): " + ProcessesText(r)));
        }

        if (r.TargetDiagnostics.Count > 0)
        {
            AnsiConsole.MarkupLine("target: " + Markup.Escape(string.Join("; ", r.TargetDiagnostics.Select(d => $"{d.Key}: {d.Value}"))));
        }

        if (r.StoppedEarly)
        {
            AnsiConsole.MarkupLine($"[yellow]stopped early: {Markup.Escape(r.StopReason ?? "")}[/]");
        }

        if (r.Audit is { } a)
        {
            AnsiConsole.MarkupLine(a.Passed
                ? $"[green]audit passed[/]: {a.SpacesChecked:N0} Spaces, used = {a.UsedCreditsSeen:N0} credits = committed and acknowledged, held 0, no anomaly{(a.UncertainFlows > 0 ? $", {a.UncertainFlows} flows of unknown outcome resolved" : "")}"
                : $"[red]audit FAILED[/]: {a.SpacesFailed:N0} of {a.SpacesChecked:N0} Spaces, {a.Anomalies:N0} anomalies");
            foreach (var failure in a.Failures.Take(10))
            {
                AnsiConsole.MarkupLine($"  [red]{Markup.Escape(failure)}[/]");
            }
        }
    }

    public static void Print(CompareReport c)
    {
        AnsiConsole.WriteLine();
        AnsiConsole.Write(new Rule($"[bold]compare[/] · {Markup.Escape(c.Scenario)}").LeftJustified());
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in new[] { "target", "requests/s", "writes/s", "flows/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "reserve p99", "commit p99", "CPU % (1 core)", "audit" })
        {
            table.AddColumn(column == "target" ? new TableColumn(column) : new TableColumn(column).RightAligned());
        }

        foreach (var r in c.Runs)
        {
            table.AddRow(Markup.Escape(RunName(c, r)), r.RequestsPerSecond.ToString("N0", Inv), r.WritesPerSecond.ToString("N0", Inv), r.FlowsPerSecond.ToString("N0", Inv), F(r.AllRequests.P50Ms), F(r.AllRequests.P99Ms),
                F(r.AllRequests.P999Ms), F(r.AllRequests.MaxMs), F(Kind(r, "reserve")?.P99Ms), F(Kind(r, "commit")?.P99Ms), CpuText(r), AuditText(r));
        }

        AnsiConsole.Write(table);
        foreach (var r in c.Runs.Where(r => r.Processes.Count > 1))
        {
            AnsiConsole.MarkupLine(Markup.Escape($"{RunName(c, r)}: {ProcessesText(r)}"));
        }

        foreach (var ratio in c.Ratios.Concat(c.Medians ?? []))
        {
            var label = c.Medians?.Contains(ratio) == true ? $"median of {ratio.Round} rounds: " : c.Runs.Any(r => r.Round > 1) ? $"round {ratio.Round}: " : "";
            AnsiConsole.MarkupLine(string.Create(Inv,
                $"{Markup.Escape(label)}[bold]{Markup.Escape(ratio.Engine)} / {Markup.Escape(ratio.Baseline)}[/]: throughput [{(ratio.ThroughputBarMet ? "green" : "red")}]{X(ratio.ThroughputRatio)}[/] (writes {X(ratio.WriteThroughputRatio)}), p99 [{(ratio.P99BarMet ? "green" : "red")}]{X(ratio.P99Ratio)}[/] (reserve {X(ratio.ReserveP99Ratio)}, commit {X(ratio.CommitP99Ratio)})"));
        }
    }

    // ---- Files -----------------------------------------------------------------------------------------------

    public static (string Json, string Markdown) Save(RunReport r, string directory)
    {
        Directory.CreateDirectory(directory);
        var stem = Path.Combine(directory, $"{r.StartedAt:yyyyMMdd-HHmmss}-{Slug(r.Scenario)}-{r.TargetKey}");
        File.WriteAllText(stem + ".json", JsonSerializer.Serialize(r, Json));
        File.WriteAllText(stem + ".md", Markdown(r, heading: "#"));
        return (stem + ".json", stem + ".md");
    }

    public static (string Json, string Markdown) Save(CompareReport c, string directory)
    {
        Directory.CreateDirectory(directory);
        var stem = Path.Combine(directory, $"{c.StartedAt:yyyyMMdd-HHmmss}-{Slug(c.Scenario)}-compare");
        File.WriteAllText(stem + ".json", JsonSerializer.Serialize(c, Json));
        File.WriteAllText(stem + ".md", Markdown(c));
        return (stem + ".json", stem + ".md");
    }

    public static string Markdown(CompareReport c)
    {
        var md = new StringBuilder();
        md.AppendLine(Inv, $"# compare · {c.Scenario}");
        md.AppendLine();
        md.AppendLine(Inv, $"{c.StartedAt:yyyy-MM-dd HH:mm:ss} UTC · {MachineText(c.Machine)}");
        md.AppendLine();
        md.AppendLine("| target | requests/s | writes/s | flows/s | p50 ms | p99 ms | p99.9 ms | max ms | reserve p99 ms | commit p99 ms | process CPU (% of 1 core) | load average | audit |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |");
        foreach (var r in c.Runs)
        {
            md.AppendLine(Inv, $"| {RunName(c, r)} | {r.RequestsPerSecond:N0} | {r.WritesPerSecond:N0} | {r.FlowsPerSecond:N0} | {F(r.AllRequests.P50Ms)} | {F(r.AllRequests.P99Ms)} | {F(r.AllRequests.P999Ms)} | {F(r.AllRequests.MaxMs)} | {F(Kind(r, "reserve")?.P99Ms)} | {F(Kind(r, "commit")?.P99Ms)} | {CpuText(r)} | {r.LoadAverage ?? "-"} | {AuditText(r)} |");
        }

        md.AppendLine();
        if (c.Runs.Any(r => r.Processes.Count > 1))
        {
            md.AppendLine("| target | CPU per process over the measured window: % of one core (µs per request), RSS |");
            md.AppendLine("| --- | --- |");
            foreach (var r in c.Runs.Where(r => r.Processes.Count > 1))
            {
                md.AppendLine(Inv, $"| {RunName(c, r)} | {ProcessesText(r)} |");
            }

            md.AppendLine();
        }

        md.AppendLine("| engine ÷ baseline | throughput (requests) | writes | p99 | reserve p99 | commit p99 |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var ratio in c.Ratios.Concat(c.Medians ?? []))
        {
            var label = c.Medians?.Contains(ratio) == true ? $"median of {ratio.Round} rounds: " : c.Runs.Any(r => r.Round > 1) ? $"round {ratio.Round}: " : "";
            md.AppendLine(Inv, $"| {label}{ratio.Engine} ÷ {ratio.Baseline} | {X(ratio.ThroughputRatio)} | {X(ratio.WriteThroughputRatio)} | {X(ratio.P99Ratio)} | {X(ratio.ReserveP99Ratio)} | {X(ratio.CommitP99Ratio)} |");
        }

        md.AppendLine();
        foreach (var r in c.Runs)
        {
            md.Append(Markdown(r, heading: "##"));
            md.AppendLine();
        }

        return md.ToString();
    }

    public static string Markdown(RunReport r, string heading)
    {
        var md = new StringBuilder();
        var w = r.Workload;
        md.AppendLine(Inv, $"{heading} {r.Target} · {r.Scenario}");
        md.AppendLine();
        md.AppendLine(Inv, $"- run {r.RunId}, {r.StartedAt:yyyy-MM-dd HH:mm:ss} UTC · {MachineText(r.Machine)}");
        md.AppendLine(Inv, $"- workload: {w.Spaces:N0} Spaces ({w.Skew}{(w.ZipfTopShare is { } top ? $", top Space {top:P1} of picks" : "")}), {w.Users:N0} users, {w.MembersPerSpace} members per Space, {w.Concurrency} in flight; failure rate {w.FailureRate:0.###}, batch {w.BatchSize} × {w.BatchFraction:0.###}, balance queries {w.BalanceFraction:0.###}, replays {w.ReplayFraction:0.###}; plans {w.PlanMix}; seed {w.Seed}");
        md.AppendLine(Inv, $"- setup {r.SetupSeconds:0.0} s, warm-up {r.WarmupSeconds:0.#} s, measured {r.MeasuredSeconds:0.0} s{(r.StoppedEarly ? $" (stopped early: {r.StopReason})" : "")}{(r.LoadAverage is null ? "" : $"; load average {r.LoadAverage}")}");
        md.AppendLine(Inv, $"- **{r.RequestsPerSecond:N0} requests/s** ({r.Requests:N0}), {r.WritesPerSecond:N0} writes/s (reserve + commit + refund; upserts for the raw baseline), {r.FlowsPerSecond:N0} flows/s");
        md.AppendLine();
        md.AppendLine("| kind | count | per s | mean ms | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var k in r.Kinds.Append(r.AllRequests))
        {
            md.AppendLine(Inv, $"| {k.Kind} | {k.Count:N0} | {k.PerSecond:N0} | {F(k.MeanMs)} | {F(k.P50Ms)} | {F(k.P90Ms)} | {F(k.P99Ms)} | {F(k.P999Ms)} | {F(k.MaxMs)} |");
        }

        md.AppendLine();
        md.AppendLine(Inv, $"- rejections: {(r.Rejections.Count == 0 ? "none" : string.Join(", ", r.Rejections.Select(p => $"{p.Key} {p.Value:N0}")))}");
        md.AppendLine(Inv, $"- errors: {(r.ErrorCount == 0 ? "none" : string.Join(", ", r.Errors.Select(p => $"{p.Key} {p.Value:N0}")) + $" (first: {r.FirstError})")}");
        var p = r.Process;
        md.AppendLine(Inv, $"- process: CPU {p.CpuPercentOfOneCore:0}% of one core ({p.CpuMicrosecondsPerRequest:0.0} µs/request), working set {p.WorkingSetMiB:0} MiB (peak {p.PeakWorkingSetMiB:0}), GC heap {p.GcHeapMiB:0} MiB, allocated {p.AllocatedMiBPerSecond:0} MiB/s ({p.AllocatedBytesPerRequest:0} B/request), collections gen0/1/2 {p.Gen0Collections}/{p.Gen1Collections}/{p.Gen2Collections}, GC pause {p.GcPausePercent:0.##}%");
        if (r.Processes.Count > 1)
        {
            md.AppendLine(Inv, $"- processes (CPU % of one core over the measured window, µs per request, RSS): {ProcessesText(r)}");
        }

        foreach (var (key, value) in r.TargetDiagnostics)
        {
            md.AppendLine(Inv, $"- {key}: {value}");
        }

        if (r.Audit is { } a)
        {
            md.AppendLine(Inv, $"- audit: **{(a.Passed ? "passed" : "FAILED")}** — {a.SpacesChecked:N0} Spaces checked, {a.SpacesFailed:N0} failed; used {a.UsedCreditsSeen:N0} credits, committed and acknowledged {a.CommittedCreditsAcknowledged:N0}; {a.UncertainFlows} flows of unknown outcome ({a.UncertainResolved} resolved); {a.Anomalies} anomalies");
            foreach (var failure in a.Failures)
            {
                md.AppendLine(Inv, $"  - {failure}");
            }
        }

        return md.ToString();
    }

    private static LatencyStats? Kind(RunReport r, string kind) => r.Kinds.FirstOrDefault(k => k.Kind == kind);

    /// <summary>"harness (client + load generator) 35 % (12 µs, 300 MiB) · silo 1 …".</summary>
    private static string ProcessesText(RunReport r) => string.Join(" · ", r.Processes.Select(p =>
        string.Create(Inv, $"{p.Role} {p.CpuPercentOfOneCore:0} % ({p.CpuMicrosecondsPerRequest:0.0} µs, {p.ResidentMiB:0} MiB)")));

    private static string RunName(CompareReport c, RunReport r) => c.Runs.Any(x => x.Round > 1) ? $"{r.Target} · round {r.Round}" : r.Target;

    private static string CpuText(RunReport r)
    {
        if (r.Processes.Count > 1)
        {
            var servers = r.Processes.Skip(1).Sum(p => p.CpuPercentOfOneCore);
            return string.Create(Inv, $"{r.Process.CpuPercentOfOneCore:0} + servers {servers:0}");
        }

        var text = r.Process.CpuPercentOfOneCore.ToString("0", Inv);
        return r.TargetDiagnostics.TryGetValue("server CPU (% of one core, measured window)", out var server) ? $"{text} + server {server}" : text;
    }

    private static string AuditText(RunReport r) => r.Audit is null ? "-" : r.Audit.Passed ? "passed" : "FAILED";

    private static string MachineText(MachineInfo m) =>
        string.Create(Inv, $"{m.ProcessorCount} cores ({m.Cpu}), {m.MemoryGiB:0} GiB, {m.Os}, {m.Runtime}, {m.Configuration} build, {m.Gc} GC{(m.GitCommit is null ? "" : $", commit {m.GitCommit}")}");

    private static string X(double ratio) => double.IsFinite(ratio) ? ratio.ToString("0.00", Inv) + "×" : "-";

    private static string F(double? ms) => ms is null ? "-" : ms.Value.ToString(ms.Value >= 100 ? "0" : ms.Value >= 10 ? "0.0" : "0.00#", Inv);

    private static string Slug(string text) => new(text.Select(ch => char.IsLetterOrDigit(ch) ? ch : '-').ToArray());
}
