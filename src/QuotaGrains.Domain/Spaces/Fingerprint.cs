namespace QuotaGrains.Domain.Spaces;

/// <summary>A stable 64-bit FNV-1a hash of a request's parameters (string.GetHashCode is randomized per process,
/// and the fingerprint is stored with the Space).</summary>
public struct Fingerprint
{
    private const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    private ulong _hash;

    public static Fingerprint Start(string kind) => new Fingerprint { _hash = Offset }.Add(kind);

    public readonly ulong Value => _hash;

    public Fingerprint Add(string? value)
    {
        if (value is null)
        {
            return Add(-1L);
        }

        Add((long)value.Length);
        foreach (var c in value)
        {
            Mix((byte)c);
            Mix((byte)(c >> 8));
        }

        return this;
    }

    public Fingerprint Add(long value)
    {
        for (var i = 0; i < 8; i++)
        {
            Mix((byte)(value >> (i * 8)));
        }

        return this;
    }

    public Fingerprint Add(IReadOnlyList<int>? values)
    {
        if (values is null)
        {
            return Add(-1L);
        }

        Add((long)values.Count);
        foreach (var v in values)
        {
            Add(v);
        }

        return this;
    }

    private void Mix(byte b) => _hash = (_hash ^ b) * Prime;
}
