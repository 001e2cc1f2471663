using System.Globalization;
using System.Text;
using Nefele.Cli.Json;
using Nefele.Cli.Parsing;

namespace Nefele.Cli.Output;

/// <summary>The table ps prints: left-aligned columns two spaces apart, COMMAND last and unpadded.</summary>
internal static class PsTable
{
    private static readonly string[] Header = ["NPID", "NODE", "PID", "STATE", "CPU", "MEM", "AGE", "COMMAND"];

    public static string Format(IReadOnlyList<ProcessInfoDto> processes, DateTimeOffset now)
    {
        var rows = new List<string[]>(processes.Count + 1) { Header };
        foreach (var p in processes)
        {
            var since = p.StartedAt ?? p.CreatedAt;
            rows.Add(
            [
                p.Npid,
                string.IsNullOrEmpty(p.Node) ? "-" : p.Node,
                p.Pid > 0 ? p.Pid.ToString(CultureInfo.InvariantCulture) : "-",
                p.State,
                Units.FormatCpu(p.CpuMillis),
                Units.FormatMemory(p.MemoryBytes),
                since is { } t ? Age.Format(now - t) : "-",
                OneLine(p.Command ?? string.Empty),
            ]);
        }

        var widths = new int[Header.Length];
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length - 1; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        foreach (var row in rows)
        {
            for (var i = 0; i < row.Length - 1; i++)
            {
                text.Append(row[i].PadRight(widths[i])).Append("  ");
            }

            text.Append(row[^1]).Append('\n');
        }

        return text.ToString();
    }

    // A command with a newline in an argument would break the table.
    private static string OneLine(string s) => s.Replace('\n', ' ').Replace('\r', ' ');
}
