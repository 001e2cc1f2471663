using System.Globalization;

namespace Nefele.Cli.Commands;

/// <summary>tenant ls: every tenant with its uid and quotas (0: no limit shows as "-").</summary>
internal sealed record TenantListCommand : INefCommand
{
    private static readonly string[] Header = ["NAME", "UID", "PRIVILEGED", "CPU", "MEM", "PROCESSES", "SPAWNS/S"];

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var tenants = await context.Admin("tenant ls").ListTenantsAsync(ct).ConfigureAwait(false);
        var rows = new List<string[]> { Header };
        rows.AddRange(tenants.Select(t => new[]
        {
            t.Name,
            t.Uid.ToString(CultureInfo.InvariantCulture),
            t.Privileged ? "yes" : "no",
            Limit(t.Quotas.CpuMillis, "m"),
            Limit(t.Quotas.MemoryBytes, string.Empty),
            Limit(t.Quotas.Processes, string.Empty),
            Limit(t.Quotas.SpawnsPerSecond, string.Empty),
        }));
        await Output.TextTable.WriteAsync(context.Out, rows).ConfigureAwait(false);

        return 0;
    }

    private static string Limit(long value, string unit) => value == 0 ? "-" : value.ToString(CultureInfo.InvariantCulture) + unit;
}
