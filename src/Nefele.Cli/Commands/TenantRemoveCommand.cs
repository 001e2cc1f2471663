namespace Nefele.Cli.Commands;

/// <summary>tenant rm NAME: removes a tenant with no live processes and revokes its keys.</summary>
internal sealed record TenantRemoveCommand(string Name) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Admin("tenant rm").RemoveTenantAsync(Name, ct).ConfigureAwait(false);
        return 0;
    }
}
