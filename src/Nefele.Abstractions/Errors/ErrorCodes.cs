namespace Nefele.Errors;

/// <summary>Stable error codes: the REST API's problem type suffix, the C API's mapping, the CLI's wording.</summary>
public static class ErrorCodes
{
    /// <summary>No process with that NPID in the caller's tenant (another tenant's NPID looks the same).</summary>
    public const string NpidNotFound = "npid_not_found";

    /// <summary>The spawn request could not be admitted: bad spec, no capacity, or exec would fail.</summary>
    public const string SpawnRejected = "spawn_rejected";

    /// <summary>Malformed input: a field missing, out of range or of the wrong shape.</summary>
    public const string BadRequest = "bad_request";

    /// <summary>The process is not running (ended, or not started yet), so it cannot be signalled.</summary>
    public const string NotRunning = "not_running";

    /// <summary>The node that owns the resource cannot be reached now.</summary>
    public const string NodeUnavailable = "node_unavailable";

    /// <summary>The same request id was used for a different request.</summary>
    public const string RequestConflict = "request_conflict";

    /// <summary>No credential, or one that is malformed, unknown, expired or revoked.</summary>
    public const string Unauthenticated = "unauthenticated";

    /// <summary>The credential is valid but does not grant this action (role or tenant).</summary>
    public const string Forbidden = "forbidden";

    /// <summary>No tenant of that name.</summary>
    public const string TenantNotFound = "tenant_not_found";

    /// <summary>A tenant of that name exists already.</summary>
    public const string TenantExists = "tenant_exists";

    /// <summary>The tenant has no key of that name.</summary>
    public const string KeyNotFound = "key_not_found";

    /// <summary>The tenant has a key of that name already.</summary>
    public const string KeyExists = "key_exists";

    /// <summary>The request would take the tenant over one of its quotas (the message names it).</summary>
    public const string QuotaExceeded = "quota_exceeded";

    /// <summary>Too many requests from this key; retry later.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>The request body is not acceptable JSON: bad syntax, an unknown or duplicate field, or a value of the wrong type (the message names the field).</summary>
    public const string InvalidJson = "invalid_json";

    /// <summary>No route has that path (REST).</summary>
    public const string RouteNotFound = "route_not_found";

    /// <summary>The route exists but not with that HTTP method (REST; the Allow header lists the methods).</summary>
    public const string MethodNotAllowed = "method_not_allowed";

    /// <summary>The request body is over the documented limit (REST).</summary>
    public const string PayloadTooLarge = "payload_too_large";

    /// <summary>The URL is over the documented limit (REST).</summary>
    public const string UriTooLong = "uri_too_long";

    /// <summary>The request body is not application/json (REST).</summary>
    public const string UnsupportedMediaType = "unsupported_media_type";

    /// <summary>A fault of the server; the log has the details.</summary>
    public const string InternalError = "internal_error";
}
