using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Nefele.Bench.Placement;

/// <summary>
/// Background CPU load made by stress-ng in a session of its own (setsid), so the whole group
/// is stopped by its id; the id is also written to a file for the caller's clean-up trap.
/// </summary>
internal sealed partial class CpuLoad : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string? _pidFile;

    private CpuLoad(Process process, string? pidFile)
    {
        _process = process;
        _pidFile = pidFile;
    }

    public static async Task<CpuLoad> StartAsync(int percent, TimeSpan timeout, string? pidFile)
    {
        var psi = new ProcessStartInfo("setsid") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "stress-ng", "--cpu", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture), "--cpu-load", percent.ToString(CultureInfo.InvariantCulture), "--timeout", $"{(int)Math.Ceiling(timeout.TotalSeconds)}s", "--quiet" })
        {
            psi.ArgumentList.Add(a);
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start stress-ng");
        _ = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        if (pidFile is not null)
        {
            await File.WriteAllTextAsync(pidFile, process.Id.ToString(CultureInfo.InvariantCulture));
        }

        // Let its workers start and settle on their duty cycle.
        await Task.Delay(TimeSpan.FromSeconds(1));
        if (process.HasExited)
        {
            throw new InvalidOperationException($"stress-ng exited at once with {process.ExitCode}");
        }

        return new CpuLoad(process, pidFile);
    }

    public async ValueTask DisposeAsync()
    {
        // setsid did not fork (we are not a group leader), so its pid is the session's group id.
        _ = Kill(-_process.Id, 15);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _ = Kill(-_process.Id, 9);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        if (_pidFile is not null)
        {
            File.Delete(_pidFile);
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
