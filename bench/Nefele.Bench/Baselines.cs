using System.Diagnostics;
using System.Globalization;

namespace Nefele.Bench;

/// <summary>The baselines measured in the same run: posix_spawn from C, and bash's fork/exec.</summary>
internal static class Baselines
{
    public static async Task<List<double>> PosixSpawnAsync(string nativeDir, int n) =>
        Parse(await RunAsync(Path.Combine(nativeDir, "nefele-bench-spawn"), n.ToString(CultureInfo.InvariantCulture)));

    public static async Task<List<double>> BashAsync(int n)
    {
        // EPOCHREALTIME around each fork/exec of /bin/true, inside one bash.
        var script = $"for i in $(seq {n}); do s=$EPOCHREALTIME; /bin/true; e=$EPOCHREALTIME; echo \"$s $e\"; done";
        var lines = await RunAsync("/bin/bash", "-c", script);
        return lines.Select(l => l.Split(' '))
            .Select(p => (double.Parse(p[1], CultureInfo.InvariantCulture) - double.Parse(p[0], CultureInfo.InvariantCulture)) * 1000)
            .ToList();
    }

    private static List<double> Parse(IEnumerable<string> lines) =>
        lines.Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToList();

    private static async Task<string[]> RunAsync(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var output = await p.StandardOutput.ReadToEndAsync();
        await p.WaitForExitAsync();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} exited {p.ExitCode}");
        }

        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
