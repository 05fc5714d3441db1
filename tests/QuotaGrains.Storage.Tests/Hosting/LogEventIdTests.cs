using System.Reflection;
using Microsoft.Extensions.Logging;

namespace QuotaGrains.Tests.Hosting;

/// <summary>Every log message of the engine is a <c>[LoggerMessage]</c> with an event id of its own: none missing, none
/// used twice in a class or in an assembly (each class has a range: QuotaLog 1–99, RenewalLog 101–199, JournalReader
/// 2xx, JournalRetention 3xx, SiloJournalWriter 4xx; UsagePageLog 1–99 of its assembly). Here because this project references every src assembly, the
/// silo's included.</summary>
public sealed class LogEventIdTests
{
    private static readonly string[] SourceAssemblies =
        ["QuotaGrains.Abstractions", "QuotaGrains.Domain", "QuotaGrains.Grains", "QuotaGrains.Client", "QuotaGrains.Silo", "QuotaGrains.UsagePage"];

    [Fact]
    public void Every_log_message_has_an_event_id_unique_in_its_class_and_its_assembly()
    {
        var messages = SourceAssemblies.Select(Assembly.Load).SelectMany(LogMessages).ToList();
        Assert.True(messages.Count >= 30, $"only {messages.Count} [LoggerMessage] methods found: is the attribute still read?");

        var problems = Problems(messages).ToList();
        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>Each offence as a line naming the methods, so that a failure says where to look.</summary>
    internal static IEnumerable<string> Problems(IReadOnlyList<(MethodInfo Method, int EventId)> messages)
    {
        foreach (var (method, _) in messages.Where(m => m.EventId <= 0))
        {
            yield return $"{Name(method)} has no event id.";
        }

        var numbered = messages.Where(m => m.EventId > 0).ToList();
        foreach (var clash in numbered.GroupBy(m => (m.Method.DeclaringType, m.EventId)).Where(g => g.Count() > 1))
        {
            yield return $"event id {clash.Key.EventId} is used twice in {clash.Key.DeclaringType}: {string.Join(", ", clash.Select(m => m.Method.Name))}.";
        }

        foreach (var clash in numbered.GroupBy(m => (m.Method.Module.Assembly, m.EventId)).Where(g => g.Select(m => m.Method.DeclaringType).Distinct().Count() > 1))
        {
            yield return $"event id {clash.Key.EventId} is used by several classes of {clash.Key.Assembly.GetName().Name}: {string.Join(", ", clash.Select(m => Name(m.Method)))}.";
        }
    }

    private static IEnumerable<(MethodInfo Method, int EventId)> LogMessages(Assembly assembly) =>
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        select (method, attribute.EventId);

    private static string Name(MethodInfo method) => $"{method.DeclaringType?.Name}.{method.Name}";
}
