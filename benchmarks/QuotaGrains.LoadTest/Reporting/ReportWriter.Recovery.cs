using System.Globalization;
using System.Text;
using System.Text.Json;
using QuotaGrains.LoadTest.Targets;
using Spectre.Console;

namespace QuotaGrains.LoadTest.Reporting;

/// <summary>The recovery benchmark's report: terminal summary, JSON and Markdown.</summary>
public static partial class ReportWriter
{
    public static void Print(RecoveryReport r) => PrintRecovery("recovery after kill -9", r.Scenario, SummaryLines(r), r.Audit);

    private static void PrintRecovery(string title, string scenario, IEnumerable<string> lines, RecoveryAuditReport a)
    {
        AnsiConsole.WriteLine();
        AnsiConsole.Write(new Rule($"[bold]{title}[/] · {Markup.Escape(scenario)}").LeftJustified());
        foreach (var line in lines)
        {
            AnsiConsole.MarkupLine(Markup.Escape(line));
        }

        AnsiConsole.MarkupLine(a.Status switch
        {
            "passed" => $"[green]audit passed[/]: {Markup.Escape(AuditText(a))}",
            "FAILED" => $"[red]audit FAILED[/]: {Markup.Escape(AuditText(a))}",
            _ => $"[yellow]audit {Markup.Escape(a.Status)}[/]: {Markup.Escape(AuditText(a))}",
        });
        foreach (var failure in a.Failures.Take(10))
        {
            AnsiConsole.MarkupLine($"  [red]{Markup.Escape(failure)}[/]");
        }
    }

    public static (string Json, string Markdown) Save(RecoveryReport r, string directory) => SaveRecovery(r, r.StartedAt, r.Scenario, Markdown(r), directory);

    private static (string Json, string Markdown) SaveRecovery<T>(T report, DateTimeOffset startedAt, string scenario, string markdown, string directory)
    {
        Directory.CreateDirectory(directory);
        var stem = Path.Combine(directory, $"{startedAt:yyyyMMdd-HHmmss}-recovery-{Slug(scenario)}");
        File.WriteAllText(stem + ".json", JsonSerializer.Serialize(report, Json));
        File.WriteAllText(stem + ".md", markdown);
        return (stem + ".json", stem + ".md");
    }

    public static string Markdown(RecoveryReport r)
    {
        var md = new StringBuilder();
        var s = r.Settings;
        md.AppendLine(Inv, $"# recovery after kill -9 · {r.Scenario}");
        md.AppendLine();
        md.AppendLine(Inv, $"- run {r.RunId}, {r.StartedAt:yyyy-MM-dd HH:mm:ss} UTC · {MachineText(r.Machine)}");
        md.AppendLine(Inv, $"- {s.Spaces:N0} Spaces (one member each, Enterprise), tail asked {s.TailMiB:0.#} MiB, {s.Concurrency} in flight, phase timeout {s.TimeoutSeconds:0} s, retry delay {s.RetryDelayMs:0} ms, seed {s.Seed}; {s.Azurite}; service id {s.ServiceId}");
        md.AppendLine(Inv, $"- first silo: {string.Join(", ", s.FirstSiloEnvironment.Select(p => $"`{p.Key}={p.Value}`"))}; new silo: the engine's options{(s.InheritedQuotaEnvironment.Count == 0 ? "" : $"; both inherit {string.Join(", ", s.InheritedQuotaEnvironment.Select(p => $"`{p.Key}={p.Value}`"))}")}; storage of the new silo {(s.Proxy ? "through the counting proxy" : "direct (no proxy)")}; Azurite's limit of open file descriptors {(r.Processes.AzuriteMaxOpenFiles is { } limit ? limit.ToString("N0", Inv) : "?")}");
        AppendOutcomeAndSummary(md, r.Outcome, SummaryLines(r));

        md.AppendLine();
        md.AppendLine("## Recovery phases");
        md.AppendLine();
        AppendPhases(md, "all served after process start (s) | after Ready (s)", r.Balance, r.Reserve);
        md.AppendLine();
        md.AppendLine("## Storage traffic of the new silo");
        md.AppendLine();
        var st = r.Storage;
        md.AppendLine(Inv, $"Azurite's own counters over the window (`/proc/<pid>/io`): {Mib(st.AzuriteSyscallBytesWritten)} MiB written and {Mib(st.AzuriteSyscallBytesRead)} MiB read by system calls (sockets and files), {Mib(st.AzuriteDiskBytesRead)} MiB read from and {Mib(st.AzuriteDiskBytesWritten)} MiB written to the disk.");
        foreach (var service in new[] { st.Blob, st.Table }.OfType<ProxyServiceSummary>())
        {
            md.AppendLine();
            md.AppendLine(Inv, $"**{service.Service}** (through the proxy): {service.Connections:N0} connections, {service.Requests:N0} requests answered, {service.CutResponses:N0} cut off ({Mib(service.CutBodyBytes)} MiB of their bodies had passed); {Mib(service.BytesFromAzurite)} MiB from Azurite, {Mib(service.BytesToAzurite)} MiB to it (headers included); parse errors {service.ParseErrors}; connections ended (side that closed first): {(service.ConnectionEnds.Count == 0 ? "none (all still open)" : string.Join(", ", service.ConnectionEnds.Select(p => $"{p.Key} {p.Value:N0}")))}");
            md.AppendLine();
            md.AppendLine("| request (method, operation, status) | count | request body MiB | response body MiB | p50 ms | p99 ms | max ms |");
            md.AppendLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
            foreach (var k in service.Kinds)
            {
                md.AppendLine(Inv, $"| {k.Kind} | {k.Count:N0} | {Mib(k.RequestBodyBytes)} | {Mib(k.ResponseBodyBytes)} | {F(k.P50Ms)} | {F(k.P99Ms)} | {F(k.MaxMs)} |");
            }
        }

        md.AppendLine();
        md.AppendLine("## Timeline (every 5 s from the new silo's process start)");
        md.AppendLine();
        md.AppendLine("| s | phase | balance served | reserve served | failed calls | blob MiB from Azurite | blob requests | table requests | cut off | Azurite CPU % (main thread) | Azurite fds: sockets + others | silo CPU % |");
        md.AppendLine("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var row in r.Timeline.Where((_, i) => i % 5 == 4 || i == r.Timeline.Count - 1))
        {
            md.AppendLine(Inv, $"| {row.Seconds:0} | {row.Phase} | {row.BalanceServed:N0} | {row.ReserveServed:N0} | {row.Failures:N0} | {Mib(row.BlobBytesFromAzurite)} | {row.BlobRequests:N0} | {row.TableRequests:N0} | {row.CutResponses:N0} | {row.AzuriteCpuPercent:0} ({row.AzuriteMainThreadCpuPercent:0}) | {row.AzuriteSockets:N0} + {row.AzuriteOtherFileDescriptors:N0} | {row.SiloCpuPercent:0} |");
        }

        AppendLogs(md, ("first silo", r.FirstSiloLog), ("new silo", r.SecondSiloLog));
        AppendAuditAndNotes(md, r.Audit, r.Notes);
        return md.ToString();
    }

    private static IEnumerable<string> SummaryLines(RecoveryReport r)
    {
        var t = r.Traffic;
        yield return string.Create(Inv,
            $"before the kill: {r.Settings.Spaces:N0} Spaces set up in {r.SetupSeconds:0} s; traffic {t.Seconds:0.0} s, {t.Flows:N0} flows ({t.FlowsPerSecond:N0}/s), {t.CommitsAcknowledged:N0} commits acknowledged ({t.CreditsAcknowledged:N0} credits, {t.SpacesWithAcknowledgedCommit:N0} Spaces), {t.FlowsOfUnknownOutcome:N0} flows of unknown outcome{(t.Errors.Count == 0 ? "" : $" ({string.Join(", ", t.Errors.Select(p => $"{p.Key} {p.Value:N0}"))})")}");
        yield return string.Create(Inv,
            $"journal: {Mib(t.JournalBytesAfterSetup)} MiB after setup, {Mib(t.JournalBytesAtKill)} MiB at the kill in {t.SegmentsAtKill.Count} segment(s): a tail of {Mib(t.TailBytes)} MiB after every Space's snapshot ({(t.TailReached ? "as asked" : "SHORT of the " + r.Settings.TailMiB.ToString("0.#", Inv) + " MiB asked")}); one read of it per Space would be {Size(t.TailBytes * r.Settings.Spaces)} to {Size(t.JournalBytesAtKill * r.Settings.Spaces)}; killed because {t.KillReason}");
        yield return string.Create(Inv, $"new silo: Ready {F(r.ReadySeconds)} s after its process started, client connected at {F(r.ClientConnectedSeconds)} s");
        foreach (var p in new[] { r.Balance, r.Reserve }.OfType<RecoveryPhaseReport>())
        {
            var f = p.FirstAnswer;
            var head = p.Converged
                ? $"{p.Name}: all {p.Spaces:N0} Spaces answered {p.AllServedSecondsAfterProcessStart:0.0} s after the process started, {p.AllServedSecondsAfterReady:0.0} s after Ready ({p.AllServedSecondsAfterPhaseStart:0.0} s after the phase started)"
                : $"{p.Name}: DID NOT CONVERGE: {p.Served:N0} of {p.Spaces:N0} served after {p.EndedSecondsAfterProcessStart - p.StartedSecondsAfterProcessStart:0} s";
            var failures = p.Failures.Count == 0 ? "no failed call" : $"{p.Failures.Values.Sum():N0} failed calls: {string.Join(", ", p.Failures.OrderByDescending(x => x.Value).Select(x => $"{x.Key} {x.Value:N0}"))}";
            yield return string.Create(Inv, $"{head}; first answer p50 {F(f.P50Ms)} ms, p99 {F(f.P99Ms)} ms, max {F(f.MaxMs)} ms; {p.Calls:N0} calls, {failures}{(p.Rejections.Count == 0 ? "" : "; " + string.Join(", ", p.Rejections.Select(x => $"{x.Key} {x.Value:N0}")))}");
        }

        var st = r.Storage;
        foreach (var service in new[] { st.Blob, st.Table }.OfType<ProxyServiceSummary>())
        {
            var top = string.Join(", ", service.Kinds.Take(6).Select(k => $"{k.Kind} {k.Count:N0}{(k.ResponseBodyBytes > 1024 * 1024 ? $" ({Mib(k.ResponseBodyBytes)} MiB)" : "")}"));
            yield return string.Create(Inv,
                $"{service.Service}: {Mib(service.BytesFromAzurite)} MiB from Azurite, {Mib(service.BytesToAzurite)} MiB to it; {service.Requests:N0} requests answered, {service.CutResponses:N0} cut off ({Mib(service.CutBodyBytes)} MiB had passed), {service.Connections:N0} connections; {top}");
        }

        yield return string.Create(Inv,
            $"Azurite (syscalls): wrote {Mib(st.AzuriteSyscallBytesWritten)} MiB, read {Mib(st.AzuriteSyscallBytesRead)} MiB; disk read {Mib(st.AzuriteDiskBytesRead)} MiB");
        var c = r.Processes;
        yield return string.Create(Inv,
            $"CPU over {c.Seconds:0} s: Azurite {c.AzuriteCpuSeconds:0.0} s ({c.AzuriteCpuPercent:0}% of a core; main thread {c.AzuriteMainThreadCpuPercent:0}%), RSS {c.AzuriteRssMiB:0} MiB, at most {c.AzuriteMostSockets:N0} sockets + {c.AzuriteMostOtherFileDescriptors:N0} other file descriptors open (limit {(c.AzuriteMaxOpenFiles is { } limit ? limit.ToString("N0", Inv) : "?")}); new silo {c.SiloCpuSeconds:0.0} s ({c.SiloCpuPercent:0}%), RSS {c.SiloRssMiB:0} MiB; harness (proxy included) {c.HarnessCpuSeconds:0.0} s ({c.HarnessCpuPercent:0}%)");
        if (r.SecondSiloLog is { } log)
        {
            yield return $"new silo's log: {string.Join(", ", log.LinesByLevel.Select(p => $"{p.Key} {p.Value:N0}"))}; {string.Join("; ", log.Problems.Take(4).Select(p => $"{p.Count:N0} × {p.Key}"))}";
        }
    }

    private static void AppendOutcomeAndSummary(StringBuilder md, string outcome, IEnumerable<string> lines)
    {
        md.AppendLine(Inv, $"- **outcome**: {outcome}");
        md.AppendLine();
        md.AppendLine("## Summary");
        md.AppendLine();
        foreach (var line in lines)
        {
            md.AppendLine("- " + line);
        }
    }

    /// <summary>The phases' table (<paramref name="servedColumns"/>: the headers of the two "all served" columns), then
    /// each phase's failed calls and rejections.</summary>
    private static void AppendPhases(StringBuilder md, string servedColumns, params RecoveryPhaseReport?[] phases)
    {
        md.AppendLine(Inv, $"| phase | served | {servedColumns} | after phase start (s) | first answer p50 / p90 / p99 / max (ms) | calls | Spaces retried | most attempts |");
        md.AppendLine("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |");
        foreach (var p in phases.OfType<RecoveryPhaseReport>())
        {
            var f = p.FirstAnswer;
            md.AppendLine(Inv, $"| {p.Name} | {p.Served:N0} of {p.Spaces:N0}{(p.Converged ? "" : " (did not converge)")} | {F(p.AllServedSecondsAfterProcessStart)} | {F(p.AllServedSecondsAfterReady)} | {F(p.AllServedSecondsAfterPhaseStart)} | {F(f.P50Ms)} / {F(f.P90Ms)} / {F(f.P99Ms)} / {F(f.MaxMs)} | {p.Calls:N0} | {p.SpacesRetried:N0} | {p.MostAttempts} |");
        }

        foreach (var p in phases.OfType<RecoveryPhaseReport>().Where(p => p.Failures.Count > 0 || p.Rejections.Count > 0))
        {
            md.AppendLine();
            md.AppendLine(Inv, $"Failed calls in the {p.Name} phase (exception type ← inner types):");
            md.AppendLine();
            foreach (var (key, count) in p.Failures.OrderByDescending(x => x.Value))
            {
                md.AppendLine(Inv, $"- {count:N0} × `{key}`: {p.FailureSamples.GetValueOrDefault(key)}");
            }

            foreach (var (key, count) in p.Rejections)
            {
                md.AppendLine(Inv, $"- {count:N0} answered with {key}");
            }
        }
    }

    private static void AppendLogs(StringBuilder md, params (string Name, SiloLogSummary? Log)[] logs)
    {
        foreach (var (name, log) in logs)
        {
            if (log is null)
            {
                continue;
            }

            md.AppendLine();
            md.AppendLine(Inv, $"## Log of the {name}");
            md.AppendLine();
            md.AppendLine(Inv, $"`{log.LogPath}`: lines by level {string.Join(", ", log.LinesByLevel.Select(p => $"{p.Key} {p.Value:N0}"))}{(log.Exit is null ? "" : $"; {log.Exit}")}");
            md.AppendLine();
            foreach (var problem in log.Problems)
            {
                md.AppendLine(Inv, $"- {problem.Count:N0} × `{problem.Key}`: {problem.First.Replace("|", "\\|", StringComparison.Ordinal)}");
            }
        }
    }

    private static void AppendAuditAndNotes(StringBuilder md, RecoveryAuditReport audit, IReadOnlyList<string> notes)
    {
        md.AppendLine();
        md.AppendLine("## Audit");
        md.AppendLine();
        md.AppendLine(Inv, $"**{audit.Status}**: {AuditText(audit)}");
        md.AppendLine();
        md.AppendLine(Inv, $"How: {audit.Method}.");
        foreach (var failure in audit.Failures)
        {
            md.AppendLine(Inv, $"- {failure}");
        }

        if (notes.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("## Notes");
            md.AppendLine();
            foreach (var note in notes)
            {
                md.AppendLine("- " + note);
            }
        }
    }

    private static string AuditText(RecoveryAuditReport a) => string.Create(Inv,
        $"at recovery {a.SpacesCheckedAtRecovery:N0} Spaces checked, {a.SpacesFailedAtRecovery:N0} failed; after resolving {a.SpacesCheckedAfter:N0} checked, {a.SpacesFailedAfter:N0} failed, {a.SpacesUnread:N0} unread; {a.FlowsOfUnknownOutcome:N0} flows of unknown outcome: {a.ResolvedCommitHadLanded:N0} had committed before the kill, {a.ResolvedReserveHadLanded:N0} had only reserved, {a.ResolvedNeitherHadLanded:N0} had not landed, {a.ResolvedHoldExpired:N0} expired, {a.Unresolved:N0} unresolved; credits acknowledged {a.CreditsAcknowledged:N0} + resolved {a.CreditsResolved:N0}, used {a.UsedSeen:N0}");

    private static string Mib(long bytes) => (bytes / (1024.0 * 1024)).ToString("0.0", Inv);

    private static string Size(long bytes) => bytes >= 10L * 1024 * 1024 * 1024
        ? (bytes / (1024.0 * 1024 * 1024)).ToString("N0", Inv) + " GiB"
        : Mib(bytes) + " MiB";
}
