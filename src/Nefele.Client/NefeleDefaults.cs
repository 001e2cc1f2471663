namespace Nefele.Client;

/// <summary>Defaults of the embedded one-node setup, shared by the silo, the SDK and the tools.</summary>
public static class NefeleDefaults
{
    public const string Tenant = "default";
    public const string ClusterId = "nefele";
    public const string ServiceId = "nefele";
    public const int SiloPort = 11111;
    public const int GatewayPort = 30000;
    public const string ApiUrl = "http://127.0.0.1:7400";
}
