using Nefele.Client;

namespace Nefele.Auth;

/// <summary>
/// The RequestContext entries that carry who makes a grain call. A client (the SDK, or the REST API
/// forwarding its caller) sets <see cref="ApiKey"/>; the silo's own code carries
/// <see cref="System"/>, the cluster's secret, which no client holds.
/// </summary>
public static class CallCredentials
{
    public const string ApiKey = "nefele-key";
    public const string System = "nefele-sys";
}
