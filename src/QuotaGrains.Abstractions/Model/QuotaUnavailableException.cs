using System.Text;
using Orleans.Runtime.Messaging;

namespace QuotaGrains;

/// <summary>
/// The engine could not carry out a request durably (storage down, silo lost, timeout). The outcome is unknown,
/// never "not charged" by guess: retry with the same operation id to learn the one outcome that holds. A hold
/// nobody settles expires on its own.
/// </summary>
/// <remarks>
/// <para>This is the one infrastructure failure a caller sees, whatever its cause, and it crosses process
/// boundaries: a cause's type may not exist on the other side (a storage SDK's exception reached a client without
/// that SDK as <see cref="TypeLoadException"/>), so the cause is kept as text in the message (its type and message,
/// and those of its inner exceptions) and never as <see cref="Exception.InnerException"/>. Whoever catches the cause
/// logs it in full.</para>
/// <para>It derives from <see cref="OrleansException"/> so that Orleans passes it on as it is: its grain-state
/// bridge wraps any other exception of a storage provider in an <see cref="OrleansException"/>, and a failure while a
/// grain activates reaches the caller as that exception.</para>
/// </remarks>
[GenerateSerializer, Alias("QuotaGrains.QuotaUnavailableException")]
public sealed class QuotaUnavailableException : OrleansException
{
    private const int MaxCauses = 4;
    private const int MaxCauseMessageLength = 400;

    public QuotaUnavailableException()
    {
    }

    public QuotaUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>A failure caused by <paramref name="innerException"/>: its type and message (and those of its inner
    /// exceptions) are appended to <paramref name="message"/>; the exception itself is not kept.</summary>
    public QuotaUnavailableException(string message, Exception innerException)
        : base(WithCause(message, innerException))
    {
    }

    /// <summary>True when the engine could not reach one of its own grains because the cluster is changing (a silo
    /// stopping, or lost and not yet declared dead: a connection refused, a message rejected or unanswered on the way),
    /// not because its storage failed: an attempt a moment later reaches the grain where it lives then. The client
    /// retries these for <c>Quota:Client:RetryBudget</c>, and the engine's own fail-closed answers a few times only.</summary>
    [Id(0)]
    public bool ClusterChanging { get; init; }

    /// <summary>Whether <paramref name="exception"/> is Orleans failing to deliver a call, or to get its answer, while
    /// the cluster changes (<see cref="OrleansMessageRejectionException"/>, <see cref="SiloUnavailableException"/> among
    /// them; <see cref="ConnectionFailedException"/>; <see cref="TimeoutException"/>), or a
    /// <see cref="QuotaUnavailableException"/> that says so (<see cref="ClusterChanging"/>).</summary>
    public static bool IsClusterChange(Exception exception) =>
        exception is OrleansMessageRejectionException or ConnectionFailedException or TimeoutException
            or QuotaUnavailableException { ClusterChanging: true };

    /// <summary><paramref name="message"/> followed by the cause's type and first line of message, and those of up to
    /// <see cref="MaxCauses"/> inner exceptions.</summary>
    private static string WithCause(string message, Exception? cause)
    {
        if (cause is null)
        {
            return message;
        }

        var text = new StringBuilder(message).Append(" Cause: ");
        for (var depth = 0; cause is not null && depth < MaxCauses; depth++, cause = cause.InnerException)
        {
            if (depth > 0)
            {
                text.Append(" ---> ");
            }

            var firstLine = cause.Message.AsSpan();
            if (firstLine.IndexOfAny('\r', '\n') is var end and >= 0)
            {
                firstLine = firstLine[..end];
            }

            if (firstLine.Length > MaxCauseMessageLength)
            {
                firstLine = firstLine[..MaxCauseMessageLength];
            }

            text.Append(cause.GetType().FullName).Append(": ").Append(firstLine);
        }

        return text.ToString();
    }
}
