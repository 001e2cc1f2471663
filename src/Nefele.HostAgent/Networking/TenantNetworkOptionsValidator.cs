using Microsoft.Extensions.Options;

namespace Nefele.HostAgent.Networking;

/// <summary>Fails start-up with a message naming the bad tenant network setting and what is allowed.</summary>
public sealed class TenantNetworkOptionsValidator : IValidateOptions<TenantNetworkOptions>
{
    public ValidateOptionsResult Validate(string? name, TenantNetworkOptions options)
    {
        try
        {
            _ = new TenantNetworkPlan(options);
            return ValidateOptionsResult.Success;
        }
        catch (ArgumentException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}
