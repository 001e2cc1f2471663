using Nefele.Cli.Parsing;
using Nefele.Cli.Transport;

namespace Nefele.Cli.Commands;

/// <summary>wait NAME [--timeout 10s]: until the name has a holder; prints the holders' NPIDs, one a line.</summary>
internal sealed record WaitCommand(string Name, TimeSpan Timeout) : INefCommand
{
    public bool Waits => Timeout > TimeSpan.Zero;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var holders = await context.Transport.WaitForNameAsync(Name, Timeout, ct).ConfigureAwait(false)
            ?? throw new NefeleApiException($"timed out: nobody registered {Name} within {Durations.Format(Timeout)}") { Code = "timed_out" };
        foreach (var npid in holders)
        {
            await context.Out.WriteLineAsync(npid).ConfigureAwait(false);
        }

        return NefApp.Ok;
    }
}
