namespace Nefele.Tracing;

/// <summary>
/// Attribute names on a spawn's spans and on the process output records hostd exports, shared by
/// the SDK, the silo and hostd: OpenTelemetry's semantic conventions where one exists
/// (<c>process.pid</c>, <c>log.iostream</c>), else <c>nefele.*</c>.
/// </summary>
public static class SpanAttributes
{
    /// <summary>The process's NPID.</summary>
    public const string Npid = "nefele.npid";

    /// <summary>The tenant the process or request belongs to.</summary>
    public const string Tenant = "nefele.tenant";

    /// <summary>The node a process is placed on, or the node whose silo or hostd made the span.</summary>
    public const string Node = "nefele.node";

    /// <summary>The process engine that started it (native, systemd, container).</summary>
    public const string Engine = "nefele.engine";

    /// <summary>How many tasks a spawn request asked for.</summary>
    public const string Tasks = "nefele.tasks";

    /// <summary>The signal number of a kill.</summary>
    public const string Signal = "nefele.signal";

    /// <summary>The operating system's process id (OpenTelemetry semantic conventions).</summary>
    public const string ProcessPid = "process.pid";

    /// <summary>The name a process is known by in its tenant (the spec's name; absent when it has none).</summary>
    public const string ProcessName = "nefele.name";

    /// <summary>The program's file name (OpenTelemetry semantic conventions).</summary>
    public const string ProcessExecutableName = "process.executable.name";

    /// <summary>Which output stream a log record came from: <c>stdout</c> or <c>stderr</c> (OpenTelemetry semantic conventions).</summary>
    public const string LogIostream = "log.iostream";
}
