using System.ComponentModel.DataAnnotations;
using System.Net;
using Nefele.Client;

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

    /// <summary>
    /// The cluster's CA certificate (PEM, <c>--tls-ca</c>): peers' certificates must chain to it.
    /// Required in cluster mode unless <see cref="InsecureTransport"/>; not used by the embedded default,
    /// whose silo and gateway listen on loopback only.
    /// </summary>
    public string? TlsCa { get; set; }

    /// <summary>This node's certificate (PEM, <c>--tls-cert</c>), issued by <see cref="TlsCa"/> for server and client authentication.</summary>
    public string? TlsCert { get; set; }

    /// <summary>The private key of <see cref="TlsCert"/> (PEM, unencrypted, <c>--tls-key</c>); readable by the silo's user only.</summary>
    public string? TlsKey { get; set; }

    /// <summary>
    /// Cluster mode without TLS (<c>--insecure-transport</c>): silo-to-silo and gateway links in
    /// plain TCP, which anyone on the network can read and join. Default false.
    /// </summary>
    public bool InsecureTransport { get; set; }

    public bool IsClustered => !string.IsNullOrEmpty(Redis);

    /// <summary>True when the Orleans links use mutual TLS (cluster mode without <see cref="InsecureTransport"/>).</summary>
    public bool UsesTls => IsClustered && !InsecureTransport;

    /// <summary>The TLS material of <see cref="TlsCa"/>, <see cref="TlsCert"/> and <see cref="TlsKey"/>.</summary>
    public NefeleTls LoadTls() => NefeleTls.FromPemFiles(TlsCa!, TlsCert!, TlsKey!);

    /// <summary>Every way these settings are wrong (the attributes' and <see cref="Validate"/>'s), one sentence each; empty when they are right.</summary>
    public IReadOnlyList<string> Problems()
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        return results.Select(r => r.ErrorMessage ?? "invalid Cluster settings").ToList();
    }

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

        var tlsFlags = new[] { (TlsCa, "--tls-ca"), (TlsCert, "--tls-cert"), (TlsKey, "--tls-key") };
        if (!IsClustered)
        {
            if (tlsFlags.Any(f => f.Item1 is not null) || InsecureTransport)
            {
                yield return new ValidationResult(
                    "--tls-ca, --tls-cert, --tls-key and --insecure-transport apply to cluster mode (--redis); the embedded default listens on loopback only",
                    [nameof(TlsCa)]);
            }

            yield break;
        }

        if (InsecureTransport)
        {
            if (tlsFlags.Any(f => f.Item1 is not null))
            {
                yield return new ValidationResult("--insecure-transport and --tls-ca/--tls-cert/--tls-key exclude each other", [nameof(InsecureTransport)]);
            }

            yield break;
        }

        var missing = tlsFlags.Where(f => string.IsNullOrEmpty(f.Item1)).Select(f => f.Item2).ToArray();
        if (missing.Length > 0)
        {
            yield return new ValidationResult(
                $"cluster mode needs mutual TLS: {string.Join(", ", missing)} missing (the cluster's CA, this node's certificate and its key, PEM); --insecure-transport runs without it",
                [nameof(TlsCa)]);
            yield break;
        }

        string? error = null;
        try
        {
            var tls = LoadTls();
            if (!tls.Trusts(tls.Certificate, NefeleTls.ServerAuth, NefeleTls.ClientAuth))
            {
                error = $"--tls-cert {TlsCert} is not a node certificate of --tls-ca {TlsCa}: it must be issued by that CA, be valid now, and allow TLS server and client authentication";
            }
        }
        catch (ArgumentException e)
        {
            error = e.Message;
        }

        if (error is not null)
        {
            yield return new ValidationResult(error, [nameof(TlsCert)]);
        }
    }
}
