using Nefele.Client;
using Nefele.Tenants;

namespace Nefele.Cli.Commands;

/// <summary>tenant create NAME [--privileged] [quotas]: prints the tenant and the uid its processes run as.</summary>
internal sealed record TenantCreateCommand(TenantCreateRequest Request) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var info = await context.Admin("tenant create").CreateTenantAsync(Request, ct).ConfigureAwait(false);
        await context.Out.WriteLineAsync($"{info.Name} uid={info.Uid} gid={info.Gid}{(info.Privileged ? " privileged" : string.Empty)}").ConfigureAwait(false);
        return 0;
    }
}
