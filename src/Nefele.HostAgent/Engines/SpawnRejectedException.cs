namespace Nefele.HostAgent.Engines;

/// <summary>exec could not happen (bad path, not executable, bad cwd, …); nothing runs.</summary>
public sealed class SpawnRejectedException : Exception
{
    public SpawnRejectedException(string message)
        : base(message)
    {
    }

    public SpawnRejectedException(string code, string message)
        : base(message)
    {
        Code = code;
    }

    public SpawnRejectedException()
    {
    }

    public SpawnRejectedException(string message, Exception inner)
        : base(message, inner)
    {
    }

    /// <summary>The catalogue code the refusal is sent with: spawn_rejected, or program_not_found when there is no such program.</summary>
    public string Code { get; } = Nefele.Client.ErrorCodes.SpawnRejected;
}
