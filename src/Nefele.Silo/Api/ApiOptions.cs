using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Nefele.Silo.Api;

/// <summary>The management REST API (section "Api").</summary>
public sealed class ApiOptions : IValidatableObject
{
    public const string Section = "Api";

    /// <summary>
    /// Where the API listens. Default http://127.0.0.1:7400. Loopback unless <see cref="AllowRemote"/>:
    /// the API is plain HTTP, so API keys would cross the network in clear.
    /// </summary>
    [Required]
    public string Url { get; set; } = Client.NefeleDefaults.ApiUrl;

    /// <summary>
    /// Allow a non-loopback <see cref="Url"/>. Every call needs an API key, but keys travel in clear
    /// over plain HTTP: only for private networks (such as a local cluster's bridge) or behind a
    /// TLS-terminating proxy. Default false.
    /// </summary>
    public bool AllowRemote { get; set; }

    /// <summary>
    /// Serve the hollow-node routes (POST/DELETE /v1/hollow-nodes, admin only) for placement
    /// benchmarks. Default false: a production node never simulates nodes (--allow-hollow-nodes).
    /// </summary>
    public bool AllowHollowNodes { get; set; }

    /// <summary>
    /// Serve GET /metrics without a key, for scrapers that cannot send one. Default false: metrics
    /// name tenants and nodes, so they need a key like every other route (--anonymous-metrics).
    /// </summary>
    public bool AnonymousMetrics { get; set; }

    /// <summary>
    /// Requests per second one API key may make on this node, sustained (a token bucket refilled
    /// every second). Default 200: a busy script, not a flood. Requests without a valid key share
    /// one bucket per client address.
    /// </summary>
    [Range(1, 1_000_000)]
    public int RequestsPerSecondPerKey { get; set; } = 200;

    /// <summary>Requests one key may make at once before the rate applies (the bucket's size). Default 400.</summary>
    [Range(1, 1_000_000)]
    public int RequestBurstPerKey { get; set; } = 400;

    /// <summary>
    /// Longest URL (path and query), in bytes. Default 4096: the longest route with a 63-character
    /// tenant and an NPID is under 200. A longer one is answered 414 (past
    /// <see cref="ServerRequestLineBytes"/>, the server closes the connection with a bare 414).
    /// </summary>
    [Range(256, 32 * 1024)]
    public int MaxUrlBytes { get; set; } = 4096;

    /// <summary>
    /// How often a monitor or logs-follow stream with nothing to send writes a comment line, so its
    /// reader can tell a quiet stream from a node gone without closing the connection. Default 2 s;
    /// at most half of the readers' silence limit (10 s), after which they resume on another node.
    /// </summary>
    public TimeSpan StreamKeepAlive { get; set; } = Nefele.Api.EventStreams.DefaultKeepAlive;

    /// <summary>The server's own request-line limit, above <see cref="MaxUrlBytes"/> so that the API, not the server, answers long URLs.</summary>
    public const int ServerRequestLineBytes = 64 * 1024;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var keepAliveLimit = Nefele.Api.EventStreams.SilenceLimit / 2;
        if (StreamKeepAlive < TimeSpan.FromMilliseconds(100) || StreamKeepAlive > keepAliveLimit)
        {
            yield return new ValidationResult($"Api:StreamKeepAlive {StreamKeepAlive} must be between 00:00:00.1 and {keepAliveLimit} (half the silence after which readers take a stream as lost)", [nameof(StreamKeepAlive)]);
        }

        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            yield return new ValidationResult($"Api:Url '{Url}' must be an absolute http:// URL", [nameof(Url)]);
        }
        else if (!AllowRemote && !(uri.IsLoopback || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip))))
        {
            yield return new ValidationResult($"Api:Url '{Url}' must be on a loopback address (127.0.0.0/8 or ::1): the API is plain HTTP and API keys would cross the network in clear (set Api:AllowRemote, --api-allow-remote, on a private network)", [nameof(Url)]);
        }
    }
}
