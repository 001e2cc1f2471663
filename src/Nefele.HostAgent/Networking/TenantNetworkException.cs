namespace Nefele.HostAgent.Networking;

/// <summary>A tenant network could not be made or removed; the message says which tenant and why.</summary>
public sealed class TenantNetworkException : Exception
{
    public TenantNetworkException(string message)
        : base(message)
    {
    }

    public TenantNetworkException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
