using System.Globalization;

namespace QuotaGrains.UsagePage;

/// <summary>The page's addresses, in one place for the links the page renders and the endpoints that serve them.</summary>
internal static class UsagePageRoutes
{
    public static string SpacePage(string prefix, string spaceId, string token, long? cycle = null, long? after = null, int? page = null)
    {
        var url = $"{prefix}/space/{Uri.EscapeDataString(spaceId)}?token={Uri.EscapeDataString(token)}";
        if (cycle is { } c)
        {
            url += "&cycle=" + c.ToString(CultureInfo.InvariantCulture);
        }

        if (after is { } a)
        {
            url += "&after=" + a.ToString(CultureInfo.InvariantCulture);
        }

        if (page is { } p)
        {
            url += "&page=" + p.ToString(CultureInfo.InvariantCulture);
        }

        return url;
    }

    public static string SpaceForm(string prefix, string spaceId) => $"{prefix}/space/{Uri.EscapeDataString(spaceId)}";

    public static string Live(string prefix, string spaceId, string token) =>
        $"{prefix}/space/{Uri.EscapeDataString(spaceId)}/live?token={Uri.EscapeDataString(token)}";

    public static string Asset(string prefix, string name) => $"{prefix}/assets/{name}";
}
