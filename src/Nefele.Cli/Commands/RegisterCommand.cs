namespace Nefele.Cli.Commands;

/// <summary>register NAME|#id [--npid X] / unregister: adds (removes) a holder of a name; the caller unless --npid.</summary>
internal sealed record RegisterCommand(string Name, string? Npid, bool Remove) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        if (Remove)
        {
            await context.Transport.UnregisterAsync(Name, Npid, ct).ConfigureAwait(false);
        }
        else
        {
            await context.Transport.RegisterAsync(Name, Npid, ct).ConfigureAwait(false);
        }

        return NefApp.Ok;
    }
}
