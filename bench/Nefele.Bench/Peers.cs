using System.Globalization;

namespace Nefele.Bench;

/// <summary>
/// Other ways to run /bin/true and wait for its exit, measured in the same run as Nefele's
/// spawn-until-exit when they are installed: Erlang's open_port with exit_status,
/// <c>systemd-run --wait</c>, Slurm's <c>srun</c>, and nef's own command line.
/// Each returns the samples, or a reason it was skipped.
/// </summary>
internal static class Peers
{
    /// <summary>open_port({spawn_executable, "/bin/true"}, [exit_status]) until {exit_status, 0}, timed inside one BEAM.</summary>
    public static async Task<(List<double>? Samples, string? Skipped)> ErlangAsync(int n)
    {
        if (Baselines.FindOnPath("erl") is not { } erl)
        {
            return (null, "erl is not installed (scripts/bench spawn --peers installs erlang-base)");
        }

        // Ten unmeasured rounds first, as the other methods warm up.
        var code = """
            Run = fun() ->
                T0 = erlang:monotonic_time(nanosecond),
                P = open_port({spawn_executable, "/bin/true"}, [exit_status]),
                receive {P, {exit_status, 0}} -> ok end,
                erlang:monotonic_time(nanosecond) - T0
            end,
            [Run() || _ <- lists:seq(1, 10)],
            [io:format("~.6f~n", [Run() / 1.0e6]) || _ <- lists:seq(1, COUNT)],
            halt(0).
            """.Replace("COUNT", n.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return (Baselines.Parse(await Baselines.RunAsync(erl, "-noshell", "-noinput", "-eval", code)), null);
    }

    /// <summary><c>systemd-run --wait --quiet /bin/true</c> from a shell, as a user would type it.</summary>
    public static async Task<(List<double>? Samples, string? Skipped)> SystemdRunAsync(int n)
    {
        if (Baselines.FindOnPath("systemd-run") is null)
        {
            return (null, "systemd-run is not installed (scripts/bench spawn --peers installs systemd-container)");
        }

        // The unit manager is PID 1's systemd; without it systemd-run only says it cannot connect.
        if (!Directory.Exists("/run/systemd/system"))
        {
            var init = File.Exists("/proc/1/comm") ? File.ReadAllText("/proc/1/comm").Trim() : "unknown";
            return (null, $"no running systemd (PID 1 is {init}), so systemd-run has no manager to ask");
        }

        return (await Baselines.ShellLoopAsync("systemd-run --wait --quiet --collect /bin/true >/dev/null", n), null);
    }

    /// <summary><c>srun -N1 -n1 /bin/true</c> against the configured Slurm controller.</summary>
    public static async Task<(List<double>? Samples, string? Skipped)> SrunAsync(int n)
    {
        if (Baselines.FindOnPath("srun") is null)
        {
            return (null, "srun is not installed (no Slurm here)");
        }

        return (await Baselines.ShellLoopAsync("srun -N1 -n1 /bin/true >/dev/null", n), null);
    }

    /// <summary>Wall clock of the <c>nef spawn -- /bin/true</c> process (bin/nef), from a shell.</summary>
    public static async Task<(List<double>? Samples, string? Skipped)> CliSpawnAsync(string? nef, string? api, int n)
    {
        if (nef is null || api is null)
        {
            return (null, "no --nef and --api given");
        }

        if (!File.Exists(nef))
        {
            return (null, $"{nef} does not exist");
        }

        // One unmeasured run builds nef if it has not been built (bin/nef does that on first use).
        await Baselines.RunAsync("/usr/bin/env", $"NEFELE_API={api}", nef, "spawn", "--", "/bin/true");
        return (await Baselines.ShellLoopAsync($"NEFELE_API='{api}' '{nef}' spawn -- /bin/true >/dev/null", n), null);
    }
}
