using System.Diagnostics;

namespace Nefele.Testing;

/// <summary>A command a test runs to its end (gcc, ip, dotnet new …), bounded in time.</summary>
public static class Command
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/> and returns its exit code and output. A
    /// command still running after <paramref name="timeout"/> (60 s unless given) is killed, with its
    /// children, and the run throws <see cref="TimeoutException"/> naming it.
    /// </summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(
        string file, IEnumerable<string> args, IDictionary<string, string?>? env = null, TimeSpan? timeout = null, string? cwd = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = cwd ?? "" };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var bound = timeout ?? DefaultTimeout;
        using var cts = new CancellationTokenSource(bound);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {bound}");
        }

        return (p.ExitCode, await stdout, await stderr);
    }
}
