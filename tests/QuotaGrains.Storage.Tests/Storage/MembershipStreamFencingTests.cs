using System.Collections.Immutable;
using System.Net;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Configuration;
using QuotaGrains.Grains.Journal;

namespace QuotaGrains.Tests.Storage;

/// <summary>A silo fences another silo's stream only when Orleans membership says that silo is dead or gone (after
/// refreshing its view once), never its own stream or a live silo's, and once per stream.</summary>
public sealed class MembershipStreamFencingTests
{
    private static readonly SiloAddress Self = SiloAddress.New(IPAddress.Loopback, 11111, 7);
    private static readonly SiloAddress Other = SiloAddress.New(IPAddress.Loopback, 11112, 7);
    private static readonly string OtherStream = JournalLifecycle.StreamName("svc", Other);

    private readonly MemoryJournalStore _store = new();
    private readonly FakeMembership _membership = new();

    [Fact]
    public async Task This_silos_own_stream_is_never_fenced()
    {
        var fencing = NewFencing();
        _membership.Snapshot = Snapshot((Self, SiloStatus.Dead));

        Assert.False(await fencing.FenceIfDeadAsync(JournalLifecycle.StreamName("svc", Self), CancellationToken.None));
        Assert.Equal(0, _membership.Refreshes);
        Assert.Empty(await _store.ListSegmentsAsync("svc/", CancellationToken.None));
    }

    [Fact]
    public async Task A_live_silos_stream_is_not_fenced_after_one_refresh()
    {
        var fencing = await OtherStreamWithAsync(SiloStatus.Active);

        Assert.False(await fencing.FenceIfDeadAsync(OtherStream, CancellationToken.None));
        Assert.Equal(1, _membership.Refreshes);
        Assert.Equal([JournalPosition.SegmentNameOf(OtherStream, 0)], await _store.ListSegmentsAsync(OtherStream + "/", CancellationToken.None));
    }

    [Fact]
    public async Task A_dead_silos_stream_is_fenced_once_without_a_refresh()
    {
        var fencing = await OtherStreamWithAsync(SiloStatus.Dead);

        Assert.True(await fencing.FenceIfDeadAsync(OtherStream, CancellationToken.None));
        Assert.True(await fencing.FenceIfDeadAsync(OtherStream, CancellationToken.None));
        Assert.Equal(0, _membership.Refreshes);
        Assert.Equal(
            [JournalPosition.SegmentNameOf(OtherStream, 0), JournalPosition.SegmentNameOf(OtherStream, 1)],
            await _store.ListSegmentsAsync(OtherStream + "/", CancellationToken.None));
        await Assert.ThrowsAsync<JournalFencedException>(() => _store.AppendAsync(JournalPosition.SegmentNameOf(OtherStream, 0), 0, new byte[1], CancellationToken.None));
    }

    [Theory]
    [InlineData(SiloStatus.Dead)]
    [InlineData(SiloStatus.None)]
    public async Task A_silo_the_refreshed_view_calls_dead_or_no_longer_lists_is_fenced(SiloStatus afterRefresh)
    {
        var fencing = await OtherStreamWithAsync(SiloStatus.Active);
        _membership.AfterRefresh = afterRefresh is SiloStatus.None ? Snapshot((Self, SiloStatus.Active)) : Snapshot((Self, SiloStatus.Active), (Other, afterRefresh));

        Assert.True(await fencing.FenceIfDeadAsync(OtherStream, CancellationToken.None));
        Assert.Equal(1, _membership.Refreshes);
        Assert.True(await _store.IsFenceSegmentAsync(JournalPosition.SegmentNameOf(OtherStream, 1), CancellationToken.None));
    }

    /// <summary>The other silo's stream with one segment, and a view in which that silo has <paramref name="status"/>.</summary>
    private async Task<MembershipStreamFencing> OtherStreamWithAsync(SiloStatus status)
    {
        await _store.CreateSegmentAsync(JournalPosition.SegmentNameOf(OtherStream, 0), CancellationToken.None);
        _membership.Snapshot = Snapshot((Self, SiloStatus.Active), (Other, status));
        return NewFencing();
    }

    private MembershipStreamFencing NewFencing() => new(
        _store,
        _membership,
        Microsoft.Extensions.Options.Options.Create(new ClusterOptions { ServiceId = "svc", ClusterId = "test" }),
        new FixedSiloDetails(Self),
        NullLogger<MembershipStreamFencing>.Instance);

    private static ClusterMembershipSnapshot Snapshot(params (SiloAddress Silo, SiloStatus Status)[] members) =>
        new(members.ToImmutableDictionary(m => m.Silo, m => new ClusterMember(m.Silo, m.Status, m.Silo.ToString())), new MembershipVersion(members.Length));

    private sealed class FakeMembership : IClusterMembershipService
    {
        public ClusterMembershipSnapshot Snapshot { get; set; } = null!;

        /// <summary>What a refresh finds in the membership table (unchanged if null).</summary>
        public ClusterMembershipSnapshot? AfterRefresh { get; set; }

        public int Refreshes { get; private set; }

        public ClusterMembershipSnapshot CurrentSnapshot => Snapshot;

        public IAsyncEnumerable<ClusterMembershipSnapshot> MembershipUpdates => throw new NotSupportedException();

        public ValueTask Refresh(MembershipVersion minimumVersion = default, CancellationToken cancellationToken = default)
        {
            Refreshes++;
            Snapshot = AfterRefresh ?? Snapshot;
            return ValueTask.CompletedTask;
        }

        public Task<bool> TryKill(SiloAddress siloAddress) => Task.FromResult(false);
    }
}
