namespace Nefele.Cli.Commands;

/// <summary>A parsed nef command, ready to run.</summary>
internal interface INefCommand
{
    /// <summary>Runs the command; returns the exit status. Errors are thrown, not printed.</summary>
    Task<int> RunAsync(CommandContext context, CancellationToken ct);
}
