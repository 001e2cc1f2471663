using System.Globalization;

namespace Nefele.Cli.Commands;

/// <summary>key ls: the tenant's keys (never their secrets).</summary>
internal sealed record KeyListCommand : INefCommand
{
    private static readonly string[] Header = ["NAME", "ROLE", "CREATED", "EXPIRES", "STATE"];

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var keys = await context.Admin("key ls").ListKeysAsync(ct).ConfigureAwait(false);
        var now = context.Time.GetUtcNow();
        var rows = new List<string[]> { Header };
        rows.AddRange(keys.Select(k => new[]
        {
            k.Name,
            k.Role.ToString().ToLowerInvariant(),
            k.CreatedAt.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),
            k.ExpiresAt?.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "never",
            k.Revoked ? "revoked" : k.ExpiresAt <= now ? "expired" : "active",
        }));
        await Output.TextTable.WriteAsync(context.Out, rows).ConfigureAwait(false);

        return 0;
    }
}
