using System.Globalization;
using QuotaGrains.LoadTest.Runner;
using Spectre.Console;

namespace QuotaGrains.LoadTest.Reporting;

/// <summary>
/// Progress on the terminal: a live Spectre.Console table refreshed twice a second when the output is an
/// interactive terminal; otherwise (redirected to a file or a pipe, or <c>--no-live</c>) one plain line every few
/// seconds, so that logs stay readable.
/// </summary>
public sealed class ConsoleObserver : IRunObserver
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);

    public ConsoleObserver(bool live)
    {
        Live = live && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (Console.IsOutputRedirected)
        {
            // Reports are tables: give them room instead of the 80 columns Spectre assumes without a terminal.
            AnsiConsole.Profile.Width = 160;
        }
    }

    public bool Live { get; }

    public void Info(string message)
    {
        if (Live)
        {
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(message)}[/]");
        }
        else
        {
            Console.WriteLine(message);
        }
    }

    public async Task ShowLiveAsync(Func<LiveSnapshot> snapshot, Task until)
    {
        if (!Live)
        {
            await PlainAsync(snapshot, until);
            return;
        }

        var table = new Table().Border(TableBorder.Rounded).Expand();
        table.AddColumn("phase");
        table.AddColumn(new TableColumn("elapsed").RightAligned());
        table.AddColumn(new TableColumn("requests (all phases)").RightAligned());
        table.AddColumn(new TableColumn("req/s (last 0.5 s)").RightAligned());
        table.AddColumn(new TableColumn("flows").RightAligned());
        table.AddColumn(new TableColumn("rejections").RightAligned());
        table.AddColumn(new TableColumn("errors").RightAligned());
        table.AddColumn(new TableColumn("in flight").RightAligned());
        table.AddRow("", "", "", "", "", "", "", "");
        await AnsiConsole.Live(table).AutoClear(false).StartAsync(async context =>
        {
            var previous = snapshot();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var last = clock.Elapsed;
            while (!until.IsCompleted)
            {
                await Task.WhenAny(until, Task.Delay(500));
                var now = snapshot();
                var elapsed = clock.Elapsed;
                var rate = (now.Requests - previous.Requests) / Math.Max((elapsed - last).TotalSeconds, 1e-3);

                Update(table, now, rate);
                context.Refresh();
                previous = now;
                last = elapsed;
            }

            Update(table, snapshot(), 0);
            context.Refresh();
        });
    }

    private static void Update(Table table, LiveSnapshot s, double rate)
    {
        table.UpdateCell(0, 0, new Markup($"[bold]{Markup.Escape(s.Phase)}[/]"));
        table.UpdateCell(0, 1, new Text($"{s.Elapsed.TotalSeconds:0.0} s"));
        table.UpdateCell(0, 2, new Text(s.Requests.ToString("N0", CultureInfo.InvariantCulture)));
        table.UpdateCell(0, 3, new Text(rate.ToString("N0", CultureInfo.InvariantCulture)));
        table.UpdateCell(0, 4, new Text(s.Flows.ToString("N0", CultureInfo.InvariantCulture)));
        table.UpdateCell(0, 5, new Text(s.Rejections.ToString("N0", CultureInfo.InvariantCulture)));
        table.UpdateCell(0, 6, s.Errors > 0 ? new Markup($"[red]{s.Errors:N0}[/]") : new Text("0"));
        table.UpdateCell(0, 7, new Text(s.InFlight.ToString("N0", CultureInfo.InvariantCulture)));
    }

    private static async Task PlainAsync(Func<LiveSnapshot> snapshot, Task until)
    {
        var previous = snapshot();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var last = clock.Elapsed;
        while (!until.IsCompleted)
        {
            await Task.WhenAny(until, Task.Delay(PlainInterval));
            if (until.IsCompleted)
            {
                break;
            }

            var now = snapshot();
            var elapsed = clock.Elapsed;
            var rate = (now.Requests - previous.Requests) / Math.Max((elapsed - last).TotalSeconds, 1e-3);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {now.Phase,-10} {now.Elapsed.TotalSeconds,6:0.0} s  {now.Requests,12:N0} requests  {rate,10:N0} req/s  {now.Rejections:N0} rejections  {now.Errors:N0} errors"));
            previous = now;
            last = elapsed;
        }
    }
}
