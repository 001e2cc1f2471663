namespace Nefele.Naming;

/// <summary>How the name service pushes its tables to the nodes.</summary>
public sealed class NameServiceOptions
{
    /// <summary>
    /// The longest a change waits for one node to take its new table before it returns anyway:
    /// 2 s. A node that answers later still gets it (hostd keeps the highest version); a node
    /// that is lost is dropped from the pushes.
    /// </summary>
    public TimeSpan PushTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How many holders of ended processes the service remembers, so a registration racing the end is refused: 4,096.</summary>
    public int EndedHoldersKept { get; set; } = 4096;
}
