using System.Diagnostics;

namespace Nefele.Systemd.Tests;

/// <summary>
/// The systemd the tests run units on: the bus in NEFELE_SYSTEMD_BUS, else the one
/// <c>scripts/systemd-testbed bus</c> names, else the host's when PID 1 is systemd. Tests skip
/// when there is none (scripts/test starts the testbed for them).
/// </summary>
internal static class Testbed
{
    private static readonly Lazy<string?> Address = new(Find);

    /// <summary>The bus address; skips the test when no systemd runs.</summary>
    public static string Bus
    {
        get
        {
            Skip.If(Address.Value is null, "no systemd to run units on: start one with scripts/systemd-testbed up");
            return Address.Value!;
        }
    }

    /// <summary>The testbed systemd's pid in this pid namespace (from the bus address), or 1.</summary>
    public static int SystemdPid
    {
        get
        {
            var bus = Bus;
            const string prefix = "unix:path=/proc/";
            return bus.StartsWith(prefix, StringComparison.Ordinal)
                ? int.Parse(bus[prefix.Length..bus.IndexOf('/', prefix.Length)], System.Globalization.CultureInfo.InvariantCulture)
                : 1;
        }
    }

    /// <summary>Runs a command inside the testbed (systemctl and the like), as <c>nsenter -t PID -m -p -C</c>.</summary>
    public static async Task<string> RunInsideAsync(params string[] command)
    {
        var start = new ProcessStartInfo("nsenter") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])["-t", SystemdPid.ToString(System.Globalization.CultureInfo.InvariantCulture), "-m", "-p", "-C", "--", .. command])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', command)} in the testbed failed: {await error}");
        return await output;
    }

    private static string? Find()
    {
        if (Environment.GetEnvironmentVariable("NEFELE_SYSTEMD_BUS") is { Length: > 0 } given)
        {
            return given;
        }

        var script = Path.Combine(Nefele.HostAgent.Tests.NativeBuild.RepoRoot, "scripts", "systemd-testbed");
        try
        {
            var start = new ProcessStartInfo(script, "bus") { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit();
            if (process.ExitCode == 0 && output.Length > 0)
            {
                return output;
            }
        }
        catch (System.ComponentModel.Win32Exception)
        {
        }

        return File.Exists("/proc/1/comm") && File.ReadAllText("/proc/1/comm").Trim() == "systemd"
            ? "unix:path=/run/dbus/system_bus_socket"
            : null;
    }
}
