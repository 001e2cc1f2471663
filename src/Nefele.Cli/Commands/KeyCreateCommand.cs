using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Cli.Commands;

/// <summary>key create --name N [--role R] [--expires D]: prints the secret alone, so KEY=$(nef key create …) works.</summary>
internal sealed record KeyCreateCommand(KeyCreateRequest Request) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var key = await context.Admin("key create").CreateKeyAsync(Request, ct).ConfigureAwait(false);
        await context.Out.WriteLineAsync(key.Key).ConfigureAwait(false);
        return 0;
    }
}
