namespace Nefele.HostAgent.Engines;

/// <summary>
/// An engine's handle for a process it started or adopted. Opaque to everyone but the engine
/// that made it: the native engine uses the pid (as text), the systemd engine the unit name
/// ("nefele-&lt;npid&gt;.service"); an engine that routes to others may prefix it.
/// </summary>
public readonly record struct LocalProcessId(string Value)
{
    public override string ToString() => Value;
}
