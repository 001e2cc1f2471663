using System.Globalization;
using System.Text;
using Nefele.Cli.Json;
using Nefele.Cli.Parsing;
using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Cli.Output;

/// <summary>
/// The table ps prints: left-aligned columns two spaces apart, COMMAND last and unpadded.
/// CPU is the CPU time used so far and MEM the memory in use, as ps and docker stats show
/// usage; when the process asked for CPU or has a memory limit, it follows after a slash
/// ("0.12s/250m", "3.1Mi/64Mi"). CONTAINER, before COMMAND, appears when a listed process
/// runs in a tenant container ("-" for those on the host).
/// </summary>
internal static class PsTable
{
    private static readonly string[] Header = ["NPID", "NODE", "PID", "STATE", "CPU", "MEM", "AGE", "COMMAND"];

    public static string Format(IReadOnlyList<ProcessInfo> processes, DateTimeOffset now)
    {
        var containers = processes.Any(p => !string.IsNullOrEmpty(p.Container));
        string[] header = containers ? [.. Header[..^1], "CONTAINER", Header[^1]] : Header;
        var rows = new List<string[]>(processes.Count + 1) { header };
        foreach (var p in processes)
        {
            var since = p.StartedAt ?? (p.CreatedAt == default ? null : p.CreatedAt);
            string[] row =
            [
                p.Npid,
                string.IsNullOrEmpty(p.Node) ? "-" : p.Node,
                p.Pid > 0 ? p.Pid.ToString(CultureInfo.InvariantCulture) : "-",
                p.State.ToString(),
                WithLimit(FormatCpuTime(p.CpuUsageNs), p.CpuMillis > 0 ? Units.FormatCpu(p.CpuMillis) : null),
                WithLimit(p.MemoryUsageBytes > 0 ? Units.FormatMemory(p.MemoryUsageBytes) : "-", p.MemoryBytes > 0 ? Units.FormatMemory(p.MemoryBytes) : null),
                since is { } t ? Age.Format(now - t) : "-",
                OneLine(p.Command ?? string.Empty),
            ];
            rows.Add(containers ? [.. row[..^1], string.IsNullOrEmpty(p.Container) ? "-" : p.Container, row[^1]] : row);
        }

        var widths = new int[header.Length];
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

    /// <summary>CPU time: "0.05s", "12.3s", "4m05s", "2h13m"; "-" when not measured.</summary>
    public static string FormatCpuTime(long nanoseconds)
    {
        if (nanoseconds <= 0)
        {
            return "-";
        }

        var t = TimeSpan.FromTicks(nanoseconds / 100);
        return t.TotalSeconds switch
        {
            < 10 => t.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + "s",
            < 60 => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s",
            < 3600 => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalMinutes}m{t.Seconds:00}s"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}h{t.Minutes:00}m"),
        };
    }

    private static string WithLimit(string used, string? limit) => limit is null ? used : used + "/" + limit;

    // A command with a newline in an argument would break the table.
    private static string OneLine(string s) => s.Replace('\n', ' ').Replace('\r', ' ');
}
