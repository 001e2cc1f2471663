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
}
