namespace Nefele.Cli.Commands;

/// <summary>A parsed nef command, ready to run.</summary>
internal interface INefCommand
{
    /// <summary>Runs the command; returns the exit status. Errors are thrown, not printed.</summary>
    Task<int> RunAsync(CommandContext context, CancellationToken ct);

    /// <summary>
    /// Whether the command waits on something that may take long (a process's end, its output):
    /// only then does nef take over Ctrl+C to stop waiting cleanly, which costs a signal thread and
    /// the terminal's set-up at start-up that a quick command does without.
    /// </summary>
    bool Waits => false;

    /// <summary>
    /// Whether the command talks to Nefele. One that does not (help, --version, completion) skips
    /// working out the API, the tenant and the key: no config or key file is read for it.
    /// </summary>
    bool Connects => true;
}
