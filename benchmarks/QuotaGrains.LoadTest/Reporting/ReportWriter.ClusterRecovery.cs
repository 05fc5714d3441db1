using System.Text;
using QuotaGrains.LoadTest.Targets;

namespace QuotaGrains.LoadTest.Reporting;

/// <summary>The cluster recovery benchmark's report (<c>recovery --silos N</c>): terminal summary, JSON and Markdown.</summary>
public static partial class ReportWriter
{
    public static void Print(ClusterRecoveryReport r) => PrintRecovery("recovery spread over the survivors", r.Scenario, SummaryLines(r), r.Audit);

    public static (string Json, string Markdown) Save(ClusterRecoveryReport r, string directory) => SaveRecovery(r, r.StartedAt, r.Scenario, Markdown(r), directory);

    public static string Markdown(ClusterRecoveryReport r)
    {
        var md = new StringBuilder();
        var s = r.Settings;
        md.AppendLine(Inv, $"# recovery spread over the survivors · {r.Scenario}");
        md.AppendLine();
        md.AppendLine(Inv, $"- run {r.RunId}, {r.StartedAt:yyyy-MM-dd HH:mm:ss} UTC · {MachineText(r.Machine)}; load average (1/5/15 min) {string.Join(" · ", r.LoadAverages)}");
        md.AppendLine(Inv, $"- {r.Silos} silo processes on Azure Table membership (cluster id {r.ClusterId}); {s.Spaces:N0} Spaces (one member each, Enterprise) set up on silo a alone, tail asked {s.TailMiB:0.#} MiB, {s.Concurrency} in flight, phase timeout {s.TimeoutSeconds:0} s, retry delay {s.RetryDelayMs:0} ms, seed {s.Seed}; {s.Azurite}; service id {s.ServiceId}");
        md.AppendLine(Inv, $"- silo a: {string.Join(", ", s.FirstSiloEnvironment.Select(p => $"`{p.Key}={p.Value}`"))}; survivors: the engine's options with `Quota__Silo__Clustering=azure`, {(s.Proxy ? "each through its own counting proxies (blob, table)" : "straight to Azurite (--no-proxy: their journal read from their reader's log, their requests not counted)")}{(s.InheritedQuotaEnvironment.Count == 0 ? "" : $"; all inherit {string.Join(", ", s.InheritedQuotaEnvironment.Select(p => $"`{p.Key}={p.Value}`"))}")}");
        AppendOutcomeAndSummary(md, r.Outcome, SummaryLines(r));

        md.AppendLine();
        md.AppendLine("## Recovery phases (seconds after the kill)");
        md.AppendLine();
        AppendPhases(md, "all served after the kill (s) | —", r.Balance, r.Reserve);

        md.AppendLine();
        md.AppendLine("## Survivors (from the kill to the end of the reserve phase)");
        md.AppendLine();
        md.AppendLine("| silo | pid | Spaces active after the balance phase | journal read MiB (× tail, × stream) | MiB from the other survivor | blob requests (MiB from Azurite) | table requests (of which membership) | CPU s (% of a core) | RSS MiB |");
        md.AppendLine("| --- | ---: | ---: | --- | ---: | --- | --- | --- | ---: |");
        foreach (var v in r.Survivors)
        {
            var requests = r.Settings.Proxy
                ? string.Create(Inv, $"{v.Blob.Requests:N0} ({Mib(v.Blob.BytesFromAzurite)}) | {v.Table.Requests:N0} ({v.MembershipRequests:N0})")
                : "not counted | not counted";
            md.AppendLine(Inv, $"| {v.Name} (silo port {v.SiloPort}) | {v.ProcessId} | {v.SpacesActive:N0} | {Mib(v.JournalBytesRead)} ({v.ReadOverTail:0.00}×, {v.ReadOverStream:0.00}×) | {Mib(v.JournalBytesFromPeers)} | {requests} | {v.CpuSeconds:0.0} ({v.CpuPercent:0}%) | {v.RssMiB:0} |");
        }

        foreach (var v in r.Survivors.Where(_ => r.Settings.Proxy))
        {
            md.AppendLine();
            md.AppendLine(Inv, $"Silo {v.Name}: activations {string.Join(", ", v.Activations.Select(p => $"{p.Key} {p.Value:N0}"))}; blob {v.Blob.CutResponses:N0} cut off, table {v.Table.CutResponses:N0} cut off.");
            md.AppendLine();
            md.AppendLine("| service | request (method, operation, status) | count | request body MiB | response body MiB |");
            md.AppendLine("| --- | --- | ---: | ---: | ---: |");
            foreach (var (service, delta) in new[] { ("blob", v.Blob), ("table", v.Table) })
            {
                foreach (var k in delta.Kinds)
                {
                    md.AppendLine(Inv, $"| {service} | {k.Kind} | {k.Count:N0} | {Mib(k.RequestBodyBytes)} | {Mib(k.ResponseBodyBytes)} |");
                }
            }
        }

        md.AppendLine();
        md.AppendLine("## Timeline (every second from the kill)");
        md.AppendLine();
        md.AppendLine("| s | phase | silo a | balance served | reserve served | failed calls | journal read MiB per survivor | table requests per survivor | survivors' CPU % | Azurite CPU % (main thread) |");
        md.AppendLine("| ---: | --- | --- | ---: | ---: | ---: | --- | --- | --- | ---: |");
        foreach (var row in r.Timeline)
        {
            md.AppendLine(Inv, $"| {row.Seconds:0.0} | {row.Phase} | {row.DeadSiloStatus} | {row.BalanceServed:N0} | {row.ReserveServed:N0} | {row.Failures:N0} | {(r.Settings.Proxy ? string.Join(" / ", row.JournalBytesRead.Select(Mib)) : "—")} | {(r.Settings.Proxy ? string.Join(" / ", row.TableRequests.Select(n => n.ToString("N0", Inv))) : "—")} | {string.Join(" / ", row.SiloCpuPercent.Select(p => p.ToString("0", Inv)))} | {row.AzuriteCpuPercent:0} ({row.AzuriteMainThreadCpuPercent:0}) |");
        }

        AppendLogs(md, [("silo a (killed)", r.FirstSiloLog), .. r.Survivors.Select(v => ($"silo {v.Name}", (SiloLogSummary?)v.Log))]);
        AppendAuditAndNotes(md, r.Audit, r.Notes);
        return md.ToString();
    }

    private static IEnumerable<string> SummaryLines(ClusterRecoveryReport r)
    {
        var t = r.Traffic;
        var d = r.DeadSilo;
        var times = r.Times;
        yield return string.Create(Inv,
            $"before the kill: {r.Settings.Spaces:N0} Spaces set up on silo a in {r.SetupSeconds:0} s; traffic {t.Seconds:0.0} s, {t.Flows:N0} flows ({t.FlowsPerSecond:N0}/s), {t.CommitsAcknowledged:N0} commits acknowledged, {t.FlowsOfUnknownOutcome:N0} flows of unknown outcome; the survivors joined in {r.JoinSeconds:0.0} s while it ran; killed because {t.KillReason}");
        yield return string.Create(Inv,
            $"silo a's stream ({d.StreamPrefix}…): {Mib(d.StreamBytes)} MiB in {d.Segments} segment(s) at the kill, {Mib(d.StreamBytesAfterSetup)} MiB of it after setup (the tail: every Space's snapshot lies before it)");
        yield return string.Create(Inv,
            $"after the kill: first suspected at {F(times.FirstSuspectedSeconds)} s, declared Dead at {F(times.DeclaredDeadSeconds)} s (detection; membership table polled every {times.PollMilliseconds:0} ms); first balance answered at {F(times.FirstBalanceServedSeconds)} s; all {r.Settings.Spaces:N0} balances at {F(times.AllBalancesServedSeconds)} s (total): recovery {F(times.RecoverySeconds)} s after the declaration (target < {times.TargetRecoverySeconds:0} s: {(times.RecoveryWithinTarget is { } ok ? ok ? "met" : "MISSED" : "-")}); all reserves at {F(times.AllReservesServedSeconds)} s");
        foreach (var v in r.Survivors)
        {
            yield return string.Create(Inv,
                $"silo {v.Name}: {v.SpacesActive:N0} Spaces; journal read {Mib(v.JournalBytesRead)} MiB = {v.ReadOverTail:0.00}× the tail ({v.ReadOverStream:0.00}× the whole stream), {Mib(v.JournalBytesFromPeers)} MiB from the other survivor; {(r.Settings.Proxy ? string.Create(Inv, $"blob {v.Blob.Requests:N0} requests, {Mib(v.Blob.BytesFromAzurite)} MiB from Azurite; table {v.Table.Requests:N0} requests ({v.MembershipRequests:N0} membership), {Mib(v.Table.BytesFromAzurite)} MiB from Azurite") : "storage requests not counted (--no-proxy)")}; CPU {v.CpuSeconds:0.0} s ({v.CpuPercent:0}% of a core); log {string.Join(", ", v.Log.LinesByLevel.Select(p => $"{p.Key} {p.Value:N0}"))}");
        }

        var c = r.Processes;
        yield return string.Create(Inv,
            $"CPU over {c.Seconds:0.0} s from the kill: Azurite {c.AzuriteCpuSeconds:0.0} s ({c.AzuriteCpuPercent:0}% of a core; main thread {c.AzuriteMainThreadCpuPercent:0}%), RSS {c.AzuriteRssMiB:0} MiB; harness{(r.Settings.Proxy ? " (proxies included)" : "")} {c.HarnessCpuSeconds:0.0} s ({c.HarnessCpuPercent:0}%)");
    }
}
