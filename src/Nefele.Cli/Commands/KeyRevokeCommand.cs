namespace Nefele.Cli.Commands;

/// <summary>key revoke NAME: every node refuses the key within a second.</summary>
internal sealed record KeyRevokeCommand(string Name) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Admin("key revoke").RevokeKeyAsync(Name, ct).ConfigureAwait(false);
        return 0;
    }
}
