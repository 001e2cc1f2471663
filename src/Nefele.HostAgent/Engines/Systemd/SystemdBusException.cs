namespace Nefele.HostAgent.Engines.Systemd;

/// <summary>The systemd bus could not be reached or closed during a call; the message names the bus and the call.</summary>
public sealed class SystemdBusException : Exception
{
    public SystemdBusException()
    {
    }

    public SystemdBusException(string message)
        : base(message)
    {
    }

    public SystemdBusException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
