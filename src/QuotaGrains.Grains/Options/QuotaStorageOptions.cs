namespace QuotaGrains.Grains.Options;

/// <summary>Where Spaces and users keep their state (section <c>Quota:Storage</c>).</summary>
public sealed class QuotaStorageOptions
{
    public const string Memory = "memory";

    /// <summary>The storage kind. <c>memory</c> (the embedded default) keeps state in the silo's memory.</summary>
    public string Kind { get; set; } = Memory;

    /// <summary>The name of the Orleans grain storage provider that Space and user grains use.</summary>
    public string ProviderName { get; set; } = "quota";
}
