namespace Nefele.HostAgent.Engines;

/// <summary>An engine's handle for a process it started (the POSIX pid for the native engine).</summary>
public readonly record struct LocalProcessId(int Pid)
{
    public override string ToString() => Pid.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
