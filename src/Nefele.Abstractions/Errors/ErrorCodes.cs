namespace Nefele.Client;

/// <summary>
/// Stable error codes: the REST API's problem type suffix, the C API's mapping, the CLI's wording.
/// The catalogue is protos/nefele/v1/common.proto (enum ErrorCode); every constant here is one of
/// its names in lower case without the prefix, and a test checks that the two lists agree.
/// </summary>
public static class ErrorCodes
{
    /// <summary>No process with that NPID in the caller's tenant (another tenant's NPID looks the same).</summary>
    public const string NpidNotFound = "npid_not_found";

    /// <summary>The spawn request could not be admitted: bad spec, no capacity, or exec would fail.</summary>
    public const string SpawnRejected = "spawn_rejected";

    /// <summary>SDK: the program ran but never became a Nefele process (no handshake, exited first); the message has the reason.</summary>
    public const string FailedToStart = "failed_to_start";

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

    /// <summary>A per-process limit is reached (monitors or log followers at once); the message names it.</summary>
    public const string LimitExceeded = "limit_exceeded";

    /// <summary>A fault of the server; the log has the details.</summary>
    public const string InternalError = "internal_error";

    /// <summary>REST: the route exists but not with this HTTP method (405).</summary>
    public const string MethodNotAllowed = "method_not_allowed";

    /// <summary>REST: the request body is larger than <see cref="Validation.Limits.MaxRequestBodyBytes"/> (413).</summary>
    public const string PayloadTooLarge = "payload_too_large";

    /// <summary>REST: the request URI is too long (414).</summary>
    public const string UriTooLong = "uri_too_long";

    /// <summary>REST: the body is not application/json (415).</summary>
    public const string UnsupportedMediaType = "unsupported_media_type";

    /// <summary>REST: the body is not valid JSON, or has an unknown or duplicate field (400).</summary>
    public const string InvalidJson = "invalid_json";

    /// <summary>hostd has no silo attached (it restarted, or the silo is down): retry.</summary>
    public const string ControlPlaneUnavailable = "control_plane_unavailable";

    /// <summary>hostd: the caller of the process socket is neither a Nefele process nor a descendant of one.</summary>
    public const string NotANefeleProcess = "not_a_nefele_process";

    /// <summary>hostd: a frame that is too large or does not parse.</summary>
    public const string BadFrame = "bad_frame";

    /// <summary>hostd: the silo attached to the hostd of another node.</summary>
    public const string WrongNode = "wrong_node";

    /// <summary>No route has that path (REST).</summary>
    public const string RouteNotFound = "route_not_found";

    /// <summary>Another silo connection is attached to this hostd; a second one is refused while it lives (control socket).</summary>
    public const string AlreadyAttached = "already_attached";

    /// <summary>The program to spawn does not exist on the node chosen for it (no such file, or not in PATH).</summary>
    public const string ProgramNotFound = "program_not_found";

    /// <summary>The receiver's mailbox is full and stayed full for the send's wait; the message was not queued.</summary>
    public const string MailboxFull = "mailbox_full";

    /// <summary>No process holds that name, service id or topic in the caller's tenant.</summary>
    public const string NameNotFound = "name_not_found";

    /// <summary>A receive or a wait for a name ended with nothing within its timeout.</summary>
    public const string TimedOut = "timed_out";

    /// <summary>A message larger than the maximum (<see cref="Nefele.Validation.Limits.MaxMessageBytes"/>).</summary>
    public const string MessageTooLarge = "message_too_large";

    /// <summary>No supervisor of that name in the tenant.</summary>
    public const string SupervisorNotFound = "supervisor_not_found";

    /// <summary>A supervisor of that name runs in the tenant already, with another spec.</summary>
    public const string SupervisorExists = "supervisor_exists";

    /// <summary>No image of that name and tag (or digest) in the caller's tenant.</summary>
    public const string ImageNotFound = "image_not_found";

    /// <summary>An uploaded layer's bytes do not have the digest the caller gave; nothing was stored.</summary>
    public const string DigestMismatch = "digest_mismatch";

    /// <summary>A commit's source has no development overlay on its node (nothing written yet, or it ran on the host); nothing was stored.</summary>
    public const string OverlayNotFound = "overlay_not_found";

    /// <summary>A commit's source runs on a node whose containers are in production mode (read-only roots); nothing was stored.</summary>
    public const string NotDevelopmentMode = "not_development_mode";

    /// <summary>Every code above (the catalogue's order).</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        NpidNotFound, SpawnRejected, BadRequest, NotRunning, NodeUnavailable, RequestConflict, Unauthenticated, Forbidden,
        TenantNotFound, TenantExists, KeyNotFound, KeyExists, QuotaExceeded, RateLimited, LimitExceeded, InternalError,
        MethodNotAllowed, PayloadTooLarge, UriTooLong, UnsupportedMediaType, InvalidJson,
        ControlPlaneUnavailable, NotANefeleProcess, BadFrame, WrongNode, RouteNotFound, AlreadyAttached, ProgramNotFound, FailedToStart,
        MailboxFull, NameNotFound, TimedOut, MessageTooLarge,
        SupervisorNotFound, SupervisorExists,
        ImageNotFound, DigestMismatch, OverlayNotFound, NotDevelopmentMode,
    ];

    /// <summary>A spawn that could not start and left nothing running: <see cref="SpawnRejected"/> or <see cref="ProgramNotFound"/>.</summary>
    public static bool IsSpawnRefusal(string code) => code is SpawnRejected or ProgramNotFound;
}
