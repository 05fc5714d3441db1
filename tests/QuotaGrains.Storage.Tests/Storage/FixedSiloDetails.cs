namespace QuotaGrains.Tests.Storage;

/// <summary>This silo's identity for the journal's membership classes, without a silo.</summary>
internal sealed class FixedSiloDetails(SiloAddress address) : ILocalSiloDetails
{
    public string Name => "self";

    public string ClusterId => "test";

    public string DnsHostName => "localhost";

    public SiloAddress SiloAddress => address;

    public SiloAddress GatewayAddress => address;
}
