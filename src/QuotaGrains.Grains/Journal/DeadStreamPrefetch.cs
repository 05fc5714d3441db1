using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using QuotaGrains.Grains.Options;

namespace QuotaGrains.Grains.Journal;

/// <summary>
/// Starts reading a crashed silo's stream as soon as this silo learns that the cluster declared it dead, rather than when
/// the first of its Spaces activates here: every one of those Spaces needs the stream read to its end before it serves,
/// so the read is on the path of the whole recovery, and the calls that would start it arrive only once Orleans has
/// placed them again. The read goes through the <see cref="JournalReader"/>, which fences the stream first and keeps
/// what it read for the Spaces that come to recover (they join the read while it runs, or are answered from its cache).
/// </summary>
/// <remarks>Only for a silo this one saw <see cref="SiloStatus.Active"/> and next sees <see cref="SiloStatus.Dead"/>: a
/// silo that stopped gracefully passes through ShuttingDown or Stopping, and its Spaces wrote final snapshots, so nobody
/// needs its stream (retention releases it); a silo that was dead before this one started is retention's too. A view
/// that skips the stopping states only costs one read of a stream that retention would read anyway.</remarks>
internal sealed partial class DeadStreamPrefetch(
    JournalReader reader,
    IClusterMembershipService membership,
    IOptions<ClusterOptions> cluster,
    IOptions<JournalOptions> options,
    ILocalSiloDetails silo,
    ILogger<DeadStreamPrefetch> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly Dictionary<SiloAddress, SiloStatus> _seen = [];
    private Task _loop = Task.CompletedTask;

    public void Participate(ISiloLifecycle lifecycle) => lifecycle.Subscribe(
        nameof(DeadStreamPrefetch),
        ServiceLifecycleStage.Active,
        _ =>
        {
            if (options.Value.ReadAheadDeadStreams)
            {
                _loop = Task.Run(() => RunAsync(_stopping.Token));
            }

            return Task.CompletedTask;
        },
        async _ =>
        {
            _stopping.Cancel();
            await _loop.ContinueWith(static _ => { }, TaskScheduler.Default);
        });

    /// <summary>The streams of the silos that <paramref name="snapshot"/> shows newly dead after a crash (last seen
    /// Active). Called with each view in order, from one thread.</summary>
    public IReadOnlyList<string> Crashed(ClusterMembershipSnapshot snapshot)
    {
        var crashed = new List<string>();
        foreach (var member in snapshot.Members.Values)
        {
            if (member.SiloAddress.Equals(silo.SiloAddress))
            {
                continue;
            }

            var seen = _seen.TryGetValue(member.SiloAddress, out var before);
            _seen[member.SiloAddress] = member.Status;
            if (member.Status is SiloStatus.Dead && seen && before is SiloStatus.Active)
            {
                crashed.Add(JournalLifecycle.StreamName(cluster.Value.ServiceId, member.SiloAddress));
            }
        }

        return crashed;
    }

    /// <summary>Reads <paramref name="stream"/> through the reader in the background; a failure is the reader's to
    /// log, and the Spaces that ask later read it again.</summary>
    public Task PrefetchAsync(string stream) => PrefetchAsync(stream, _stopping.Token);

    private async Task PrefetchAsync(string stream, CancellationToken cancellationToken)
    {
        LogPrefetching(stream);
        try
        {
            var spaces = await reader.SpacesInAsync(stream, cancellationToken);
            LogPrefetched(stream, spaces.Count);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (QuotaUnavailableException)
        {
            // Logged by the reader; the Spaces that come to recover read the stream themselves.
        }
    }

    /// <summary>Follows the membership views until <paramref name="cancellationToken"/> (the silo's lifetime).</summary>
    internal async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(cancellationToken))
            {
                foreach (var stream in Crashed(snapshot))
                {
                    _ = PrefetchAsync(stream, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(701, LogLevel.Information, "Journal stream {Stream} read ahead: its silo was declared dead, and its Spaces will recover from it here.")]
    private partial void LogPrefetching(string stream);

    [LoggerMessage(702, LogLevel.Information, "Journal stream {Stream} read ahead for the recovery of its {Spaces} Space(s).")]
    private partial void LogPrefetched(string stream, int spaces);
}
