namespace Nefele.HostAgent.Engines;

/// <summary>exec could not happen (bad path, not executable, bad cwd, …); nothing runs.</summary>
public sealed class SpawnRejectedException : Exception
{
    public SpawnRejectedException(string message)
        : base(message)
    {
    }

    public SpawnRejectedException()
    {
    }

    public SpawnRejectedException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
