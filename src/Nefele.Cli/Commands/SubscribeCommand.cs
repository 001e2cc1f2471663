namespace Nefele.Cli.Commands;

/// <summary>subscribe TOPIC [--npid X] / unsubscribe: the caller (or X) gets (stops getting) what is published to TOPIC.</summary>
internal sealed record SubscribeCommand(string Topic, string? Npid, bool Remove) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        if (Remove)
        {
            await context.Transport.UnsubscribeAsync(Topic, Npid, ct).ConfigureAwait(false);
        }
        else
        {
            await context.Transport.SubscribeAsync(Topic, Npid, ct).ConfigureAwait(false);
        }

        return NefApp.Ok;
    }
}
