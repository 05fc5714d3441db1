using System.Runtime.InteropServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;

namespace QuotaGrains.Grains.Journal;

/// <summary>Journal segments as Azure append blobs, appended with <c>IfAppendPositionEqual</c>.</summary>
internal sealed class AzureAppendBlobJournalStore(BlobContainerClient container) : IJournalStore
{
    /// <summary>The metadata key that marks a fence segment (created by a survivor, never written to).</summary>
    private const string FenceKey = "quotafence";

    private int _containerReady;

    public async Task CreateSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        var blob = container.GetAppendBlobClient(segment);
        if (await blob.CreateIfNotExistsAsync(cancellationToken: cancellationToken) is null)
        {
            // It exists: this writer's own create whose answer was lost is fine; a fence (sealed, or marked and about to
            // be sealed) means the stream was fenced, and the writer must not go past it.
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            if (properties.IsSealed || properties.Metadata.ContainsKey(FenceKey))
            {
                throw new JournalFencedException($"Journal segment '{segment}' exists sealed: the stream is fenced.");
            }
        }
    }

    public async Task AppendAsync(string segment, long expectedOffset, ReadOnlyMemory<byte> block, CancellationToken cancellationToken)
    {
        var blob = container.GetAppendBlobClient(segment);
        var conditions = new AppendBlobAppendBlockOptions { Conditions = new AppendBlobRequestConditions { IfAppendPositionEqual = expectedOffset } };
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var content = MemoryMarshal.TryGetArray(block, out var array)
                    ? new MemoryStream(array.Array!, array.Offset, array.Count, writable: false)
                    : new MemoryStream(block.ToArray(), writable: false);
                await blob.AppendBlockAsync(content, conditions, cancellationToken);
                return;
            }
            catch (RequestFailedException e) when (e.Status == 409 && e.ErrorCode == "BlobIsSealed")
            {
                throw new JournalFencedException($"Journal segment '{segment}' is sealed: the stream is fenced.");
            }
            catch (RequestFailedException e) when (e.Status == 412)
            {
                // A retried append whose first try landed sees 412; the blob's length says whether the block is there.
                // This writer is the segment's only writer, so a length that ends exactly after the block means it landed
                // (a seal adds no bytes, so this holds on a sealed segment too).
                var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
                var length = properties.ContentLength;
                if (length == expectedOffset + block.Length)
                {
                    return;
                }

                if (properties.IsSealed)
                {
                    throw new JournalFencedException($"Journal segment '{segment}' is sealed at {length}: the stream is fenced.");
                }

                // Short of the offset: a block sent before this one had not landed when the service checked this one
                // (appends in flight are not processed in the order they were sent). Nothing was written.
                if (length < expectedOffset)
                {
                    throw new JournalAppendTooEarlyException($"Segment '{segment}' is at {length}, short of {expectedOffset}.");
                }

                // Exactly at the offset: the earlier block landed meanwhile; send this one again (once more at most).
                if (length == expectedOffset && attempt == 0)
                {
                    continue;
                }

                throw new JournalAppendConflictException($"Segment '{segment}' is at {length}, not {expectedOffset}.");
            }
        }
    }

    public async Task<byte[]> ReadAsync(string segment, long offset, int maxBytes, CancellationToken cancellationToken)
    {
        var blob = container.GetAppendBlobClient(segment);
        try
        {
            var response = await blob.DownloadContentAsync(new BlobDownloadOptions { Range = new HttpRange(offset, maxBytes) }, cancellationToken);
            return response.Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status is 404 or 416)
        {
            // No such segment, or nothing after the offset.
            return [];
        }
    }

    public async Task<IReadOnlyList<string>> ListSegmentsAsync(string prefix, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        try
        {
            await foreach (var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken))
            {
                names.Add(item.Name);
            }
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return [];
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public Task DeleteSegmentAsync(string segment, CancellationToken cancellationToken) =>
        container.GetAppendBlobClient(segment).DeleteIfExistsAsync(cancellationToken: cancellationToken);

    public async Task SealSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        try
        {
            await container.GetAppendBlobClient(segment).SealAsync(cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // Deleted (retention): nothing can be appended to it either.
        }
    }

    public async Task<bool> CreateFenceSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        await EnsureContainerAsync(cancellationToken);
        var blob = container.GetAppendBlobClient(segment);
        try
        {
            await blob.CreateAsync(
                new AppendBlobCreateOptions
                {
                    Conditions = new AppendBlobRequestConditions { IfNoneMatch = ETag.All },
                    Metadata = new Dictionary<string, string> { [FenceKey] = "1" },
                },
                cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 409)
        {
            return false;
        }

        // Marked before it is sealed: a writer that finds it in between treats it as sealed.
        await blob.SealAsync(cancellationToken: cancellationToken);
        return true;
    }

    public async Task<bool> IsFenceSegmentAsync(string segment, CancellationToken cancellationToken)
    {
        try
        {
            return (await container.GetAppendBlobClient(segment).GetPropertiesAsync(cancellationToken: cancellationToken)).Value.Metadata.ContainsKey(FenceKey);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return false;
        }
    }

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _containerReady) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            Volatile.Write(ref _containerReady, 1);
        }
    }
}
