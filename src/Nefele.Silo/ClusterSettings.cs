using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Nefele.Silo;

/// <summary>
/// How this silo finds the rest of the cluster (section "Cluster"). Without <see cref="Redis"/>
/// the node runs the embedded default: localhost clustering and grain state in its memory.
/// </summary>
public sealed class ClusterSettings : IValidatableObject
{
    public const string Section = "Cluster";

    /// <summary>Redis "host:port" for membership and grain state; null = embedded one-node default.</summary>
    public string? Redis { get; set; }

    /// <summary>Address other silos and clients use to reach this one. Default: loopback (embedded), required with Redis.</summary>
    public string? Advertise { get; set; }

    /// <summary>Cluster and service id: nodes with the same Redis and id form one cluster. Default "nefele".</summary>
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", ErrorMessage = "Cluster:Id must be 1-63 letters, digits, '.', '_' or '-'")]
    public string Id { get; set; } = Client.NefeleDefaults.ClusterId;

    public bool IsClustered => !string.IsNullOrEmpty(Redis);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Advertise is { } a && !IPAddress.TryParse(a, out _))
        {
            yield return new ValidationResult($"Cluster:Advertise '{a}' must be an IP address", [nameof(Advertise)]);
        }

        if (IsClustered && Advertise is null)
        {
            yield return new ValidationResult("Cluster:Advertise (--advertise IP) is required with Cluster:Redis: other nodes must know where to reach this one", [nameof(Advertise)]);
        }
    }
}
