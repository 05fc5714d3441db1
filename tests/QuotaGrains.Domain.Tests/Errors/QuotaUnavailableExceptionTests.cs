using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace QuotaGrains.Tests.Errors;

/// <summary>The one "outcome unknown" type carries its cause as text, never as an exception object, so that it can be
/// read by a process that lacks the cause's assembly.</summary>
public sealed class QuotaUnavailableExceptionTests
{
    [Fact]
    public void The_cause_and_its_inner_exceptions_become_text_and_no_inner_exception_is_kept()
    {
        var cause = new InvalidOperationException("Service request failed.\nStatus: 503", new TimeoutException("The operation was canceled."));

        var exception = new QuotaUnavailableException("Space 's' could not make its changes durable.", cause);

        Assert.Null(exception.InnerException);
        Assert.Equal(
            "Space 's' could not make its changes durable. Cause: System.InvalidOperationException: Service request failed. ---> System.TimeoutException: The operation was canceled.",
            exception.Message);
    }

    [Fact]
    public void A_long_cause_is_cut()
    {
        var exception = new QuotaUnavailableException("Failed.", new InvalidOperationException(new string('x', 5_000)));

        Assert.True(exception.Message.Length < 500, exception.Message.Length.ToString());
    }

    [Fact]
    public void Orleans_passes_it_on_as_it_is()
    {
        // Orleans' grain-state bridge wraps any storage exception that is not an OrleansException, and a failed
        // activation sends its exception to the waiting callers as it is.
        Assert.IsAssignableFrom<OrleansException>(new QuotaUnavailableException("Failed."));
    }

    [Fact]
    public void It_crosses_the_wire_with_its_message_and_without_an_inner_exception()
    {
        using var services = new ServiceCollection()
            .AddSerializer(builder => builder.AddAssembly(typeof(QuotaUnavailableException).Assembly))
            .BuildServiceProvider();
        var serializer = services.GetRequiredService<Serializer>();
        var sent = new QuotaUnavailableException("The journal could not be read.", new IOException("Connection refused (127.0.0.1:10000)"));

        var received = serializer.Deserialize<Exception>(serializer.SerializeToArray<Exception>(sent));

        var typed = Assert.IsType<QuotaUnavailableException>(received);
        Assert.Equal(sent.Message, typed.Message);
        Assert.Null(typed.InnerException);
    }
}
