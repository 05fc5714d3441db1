using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Web;
using Microsoft.Extensions.Logging;
using QuotaGrains.UsagePage.Components;
using QuotaGrains.UsagePage.Data;

namespace QuotaGrains.UsagePage.Hosting;

/// <summary>Renders the live panel to HTML outside a page, for the live stream: the same component, so the stream and the
/// page can never disagree on a number's text. One per stream, on its request's services (the renderer's own services
/// are scoped).</summary>
internal sealed class LivePanelRenderer(IServiceProvider requestServices, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly HtmlRenderer _renderer = new(requestServices, loggers);

    public Task<string> RenderAsync(SpaceNow now) =>
        _renderer.Dispatcher.InvokeAsync(async () =>
        {
            var output = await _renderer.RenderComponentAsync<LivePanel>(ParameterView.FromDictionary(new Dictionary<string, object?> { [nameof(LivePanel.Now)] = now }));
            return output.ToHtmlString();
        });

    public ValueTask DisposeAsync() => _renderer.DisposeAsync();
}
