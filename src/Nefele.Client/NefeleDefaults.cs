namespace Nefele.Client;

/// <summary>Defaults of the embedded one-node setup, shared by the silo, the SDK and the tools.</summary>
public static class NefeleDefaults
{
    /// <summary>The tenant a fresh node creates and tools use when none is named: "default".</summary>
    public const string Tenant = "default";

    /// <summary>The cluster id of a node started without --cluster-id: "nefele".</summary>
    public const string ClusterId = "nefele";

    /// <summary>The Orleans service id of the embedded node: "nefele" (a cluster's is its cluster id).</summary>
    public const string ServiceId = "nefele";

    /// <summary>The silo-to-silo port of the embedded node: 11111.</summary>
    public const int SiloPort = 11111;

    /// <summary>The gateway port programs connect to on the embedded node: 30000.</summary>
    public const int GatewayPort = 30000;

    /// <summary>The REST API of the embedded node.</summary>
    public const string ApiUrl = "http://127.0.0.1:7400";
}
