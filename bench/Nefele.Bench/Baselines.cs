using System.Diagnostics;
using System.Globalization;

namespace Nefele.Bench;

/// <summary>The baselines measured in the same run: posix_spawn from C, and bash's fork/exec.</summary>
internal static class Baselines
{
    public static async Task<List<double>> PosixSpawnAsync(string nativeDir, int n) =>
        Parse(await RunAsync(Path.Combine(nativeDir, "nefele-bench-spawn"), n.ToString(CultureInfo.InvariantCulture)));

    public static Task<List<double>> BashAsync(int n) => ShellLoopAsync("/bin/true", n);

    /// <summary>
    /// Times <paramref name="command"/> <paramref name="n"/> times inside one bash, with
    /// EPOCHREALTIME around each run (so bash's own fork/exec of the command is included,
    /// as when a user types it). A run that fails stops the loop with its status.
    /// </summary>
    public static async Task<List<double>> ShellLoopAsync(string command, int n)
    {
        var script = $"for i in $(seq {n}); do s=$EPOCHREALTIME; {command} || exit $?; e=$EPOCHREALTIME; echo \"$s $e\"; done";
        var lines = await RunAsync("/bin/bash", "-c", script);
        return lines.Select(l => l.Split(' '))
            .Select(p => (double.Parse(p[1], CultureInfo.InvariantCulture) - double.Parse(p[0], CultureInfo.InvariantCulture)) * 1000)
            .ToList();
    }

    /// <summary>
    /// As <see cref="ShellLoopAsync"/> for several commands that take turns (one of each per round,
    /// after <paramref name="setup"/>): the samples of each, in the order given.
    /// </summary>
    public static async Task<List<double>[]> AlternatingShellLoopAsync(string setup, IReadOnlyList<string> commands, int n)
    {
        var body = string.Concat(commands.Select((c, k) => $"s=$EPOCHREALTIME; {c} || exit $?; e=$EPOCHREALTIME; echo \"{k} $s $e\"; "));
        var lines = await RunAsync("/bin/bash", "-c", $"{setup}; for i in $(seq {n}); do {body}done");
        var samples = commands.Select(_ => new List<double>()).ToArray();
        foreach (var p in lines.Select(l => l.Split(' ')))
        {
            samples[int.Parse(p[0], CultureInfo.InvariantCulture)].Add(
                (double.Parse(p[2], CultureInfo.InvariantCulture) - double.Parse(p[1], CultureInfo.InvariantCulture)) * 1000);
        }

        return samples;
    }

    /// <summary>The first executable <paramref name="name"/> on PATH, or null.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    public static List<double> Parse(IEnumerable<string> lines) =>
        lines.Select(l => double.Parse(l, CultureInfo.InvariantCulture)).ToList();

    public static async Task<string[]> RunAsync(string file, params string[] args)
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
            throw new InvalidOperationException($"{file} {string.Join(' ', args.Take(1))} exited {p.ExitCode}");
        }

        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }
}
