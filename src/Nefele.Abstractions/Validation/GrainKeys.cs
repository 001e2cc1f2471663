using Nefele.Client;
using Nefele.Errors;

namespace Nefele.Validation;

/// <summary>
/// The compound grain keys, made and taken apart in one place. A key is split only on a
/// character its first part cannot contain, and both parts are checked when it is read, so a
/// caller cannot reach another tenant by choosing a name with the separator in it.
/// </summary>
public static class GrainKeys
{
    /// <summary>Ends the tenant in a compound key; tenant names never contain it (<see cref="Names.IsTenantName"/>).</summary>
    public const char Separator = '/';

    /// <summary>The placement request grain's key: "tenant/request-id".</summary>
    public static string PlacementRequest(string tenant, string requestId)
    {
        Names.ValidateTenantName(tenant);
        Names.ValidateRequestId(requestId);
        return tenant + Separator + requestId;
    }

    /// <summary>Splits a placement request key made by <see cref="PlacementRequest"/>; a key of any other shape is a bad request.</summary>
    public static (string Tenant, string RequestId) ParsePlacementRequest(string key)
    {
        var at = key.IndexOf(Separator, StringComparison.Ordinal);
        if (at < 0 || !Names.IsTenantName(key[..at]) || !Names.IsRequestId(key[(at + 1)..]))
        {
            throw NefeleException.Bad($"'{Names.Shorten(key)}' is not a placement request key (tenant/request-id)");
        }

        return (key[..at], key[(at + 1)..]);
    }

    /// <summary>The tenant a "tenant/…" key names, or null when the key has no valid tenant before the separator.</summary>
    public static string? TenantOf(string key)
    {
        var at = key.IndexOf(Separator, StringComparison.Ordinal);
        return at > 0 && Names.IsTenantName(key[..at]) ? key[..at] : null;
    }
}
