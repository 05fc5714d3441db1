using Microsoft.Extensions.Options;
using QuotaGrains.Domain.Options;

namespace QuotaGrains.Grains.Options;

/// <summary>Refuses <c>Quota:Webhooks</c> settings that <see cref="WebhookOptions.Validate"/> finds wrong.</summary>
internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options) => OptionsProblems.Result("Quota:Webhooks", options.Validate());
}
