namespace Nefele.Client;

/// <summary>
/// Which of a process's output streams; as a filter, <see cref="All"/> is both. The numbers are
/// the wire's (LogStream in protos/nefele/v1/common.proto).
/// </summary>
public enum LogStream
{
    /// <summary>Both streams (a filter that keeps everything).</summary>
    All = 0,

    /// <summary>The process's standard output (a terminal's output, for a process with one).</summary>
    Stdout = 1,

    /// <summary>The process's standard error.</summary>
    Stderr = 2,
}
