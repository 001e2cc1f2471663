namespace Nefele.Protocol;

/// <summary>
/// The one line hostd writes on its liveness port to every connection, and the line other nodes'
/// silos expect from it: <c>nefele-hostd &lt;node&gt;</c>.
/// </summary>
public static class LivenessGreeting
{
    /// <summary>The greeting of the hostd of <paramref name="node"/>, without its line end.</summary>
    public static string For(string node) => $"nefele-hostd {node}";
}
