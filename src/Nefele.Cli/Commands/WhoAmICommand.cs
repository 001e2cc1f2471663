namespace Nefele.Cli.Commands;

/// <summary>whoami: the key nef uses, its role and tenant.</summary>
internal sealed record WhoAmICommand : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var me = await context.Admin("whoami").WhoAmIAsync(ct).ConfigureAwait(false);
        var role = me.Role.ToString().ToLowerInvariant();
        await context.Out.WriteLineAsync(me.Tenant is null ? $"key {me.Key}: {role}" : $"key {me.Key}: {role} of tenant {me.Tenant}").ConfigureAwait(false);
        return 0;
    }
}
