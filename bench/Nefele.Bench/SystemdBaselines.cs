using System.Diagnostics;
using System.Globalization;
using Nefele.Bench.Shared;

namespace Nefele.Bench;

/// <summary>
/// The systemd engine's baselines, measured in the same run on the same systemd: a raw
/// StartTransientUnit (<see cref="RawTransientUnits"/>), and
/// <c>systemd-run --wait /bin/true</c> inside the testbed's namespaces.
/// </summary>
internal static class SystemdBaselines
{
    /// <summary>StartTransientUnit → JobRemoved, ten unmeasured rounds first.</summary>
    public static async Task<List<double>> RawStartAsync(string bus, int n)
    {
        await using var raw = await RawTransientUnits.ConnectAsync(bus, defaultDependencies: true);
        var samples = new List<double>(n);
        for (var i = 0; i < n + 10; i++)
        {
            var elapsed = await raw.StartAsync();
            if (i >= 10)
            {
                samples.Add(elapsed);
            }
        }

        return samples;
    }

    /// <summary><c>nsenter -t PID -m -p -C -- systemd-run --wait --quiet /bin/true</c>, as a user of the testbed would type it.</summary>
    public static async Task<List<double>> SystemdRunAsync(int systemdPid, int n)
    {
        var samples = new List<double>(n);
        for (var i = 0; i < n + 10; i++)
        {
            var start = Stopwatch.GetTimestamp();
            await Baselines.RunAsync("nsenter", "-t", systemdPid.ToString(CultureInfo.InvariantCulture), "-m", "-p", "-C", "--", "systemd-run", "--wait", "--quiet", "/bin/true");
            if (i >= 10)
            {
                samples.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }

        return samples;
    }
}
