namespace QuotaGrains;

/// <summary>
/// The engine could not carry out a request durably (storage down, silo lost, timeout). The outcome is unknown,
/// never "not charged" by guess: retry with the same operation id to learn the one outcome that holds. A hold
/// nobody settles expires on its own.
/// </summary>
[GenerateSerializer, Alias("QuotaGrains.QuotaUnavailableException")]
public sealed class QuotaUnavailableException : Exception
{
    public QuotaUnavailableException()
    {
    }

    public QuotaUnavailableException(string message)
        : base(message)
    {
    }

    public QuotaUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
