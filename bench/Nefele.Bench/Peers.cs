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

    /// <summary>
    /// Wall clock of nef commands typed in a shell against the warm node: <c>nef spawn -- /bin/true</c>
    /// (<c>cli_spawn</c>, the issue's figure) and <c>nef ps</c> (<c>cli_ps</c>) with nef installed on
    /// PATH (the native executable in <paramref name="installedDir"/>, as a release installs it), the
    /// same through the checkout's <c>bin/nef</c> (<paramref name="binNef"/>, <c>*_bin_nef</c>: its
    /// staleness check counts), and <c>nef --version</c> (<c>cli_version</c>: start-up, no request).
    /// With curl installed, the same spawn and ps requests from curl (<c>cli_curl_spawn</c>,
    /// <c>cli_curl_ps</c>) as a floor made of another client. The commands take turns in one shell
    /// loop, so load on the machine falls on all alike.
    /// </summary>
    public static async Task<(List<(string Method, List<double> Samples)> Results, string? Skipped)> CliAsync(
        string? binNef, string? installedDir, string? api, int n)
    {
        if (binNef is null || installedDir is null || api is null)
        {
            return ([], "no --nef, --nef-installed and --api given");
        }

        var installed = Path.Combine(installedDir, "nef");
        if (!File.Exists(binNef) || !File.Exists(installed))
        {
            return ([], $"{binNef} or {installed} does not exist");
        }

        // One unmeasured run builds nef if it has not been built (bin/nef does that on first use).
        await Baselines.RunAsync("/usr/bin/env", $"NEFELE_API={api}", binNef, "spawn", "--", "/bin/true");
        (string Method, string Command)[] commands =
        [
            ("cli_spawn", "nef spawn -- /bin/true"),
            ("cli_spawn_bin_nef", $"'{binNef}' spawn -- /bin/true"),
            ("cli_ps", "nef ps"),
            ("cli_ps_bin_nef", $"'{binNef}' ps"),
            ("cli_version", "nef --version"),
        ];
        if (Baselines.FindOnPath("curl") is not null)
        {
            // The same two requests from curl, one process each: the node's answer plus a small client's start-up.
            var auth = "-H \"Authorization: Bearer $NEFELE_TOKEN\"";
            commands =
            [
                .. commands,
                ("cli_curl_spawn", $"curl -fsS -o /dev/null {auth} -H 'Content-Type: application/json' -d '{{\"tasks\":[{{\"path\":\"/bin/true\"}}]}}' '{api.TrimEnd('/')}/v1/tenants/default/spawn'"),
                ("cli_curl_ps", $"curl -fsS -o /dev/null {auth} '{api.TrimEnd('/')}/v1/tenants/default/processes'"),
            ];
        }

        var samples = await Baselines.AlternatingShellLoopAsync(
            $"export NEFELE_API='{api}' PATH='{installedDir}':\"$PATH\"", [.. commands.Select(c => c.Command + " >/dev/null")], n);
        return ([.. commands.Select((c, i) => (c.Method, samples[i]))], null);
    }
}
