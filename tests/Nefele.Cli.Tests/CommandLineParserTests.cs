using Nefele.Cli.Commands;
using Nefele.Cli.Parsing;

namespace Nefele.Cli.Tests;

public sealed class CommandLineParserTests
{
    private const string A = "0123456789abc";
    private const string B = "0123456789abd";

    private static INefCommand Parse(params string[] args) => CommandLineParser.Parse(args).Command;

    private static string UsageError(params string[] args) =>
        Assert.Throws<UsageException>(() => CommandLineParser.Parse(args)).Message;

    [Fact]
    public void Spawn_takes_everything_after_double_dash_verbatim()
    {
        var spawn = Assert.IsType<SpawnCommand>(Parse("spawn", "--cpu", "250m", "--mem=64Mi", "--", "/bin/prog", "--cpu", "-x", "--", "--tenant", "t"));
        var task = Assert.Single(spawn.Batch.Tasks);
        Assert.Equal("/bin/prog", task.Path);
        Assert.Equal(["--cpu", "-x", "--", "--tenant", "t"], task.Args);
        Assert.Equal(250, task.CpuMillis);
        Assert.Equal(64L * 1024 * 1024, task.MemoryBytes);
        Assert.Equal(1, spawn.Batch.Count);
    }

    [Fact]
    public void Spawn_without_double_dash_starts_the_program_at_the_first_non_flag()
    {
        var spawn = Assert.IsType<SpawnCommand>(Parse("spawn", "--name", "w", "/bin/sleep", "5", "--cpu", "1"));
        var task = Assert.Single(spawn.Batch.Tasks);
        Assert.Equal("/bin/sleep", task.Path);
        Assert.Equal(["5", "--cpu", "1"], task.Args);
        Assert.Equal("w", task.Name);
        Assert.Equal(0, task.CpuMillis);
    }

    [Fact]
    public void Spawn_collects_env_cwd_request_id_and_no_handshake()
    {
        var spawn = Assert.IsType<SpawnCommand>(Parse(
            "spawn", "--env", "A=1", "--env=B=x=y", "--cwd", "/tmp", "--request-id", "r1", "--no-handshake", "--", "/bin/true"));
        var task = Assert.Single(spawn.Batch.Tasks);
        Assert.Equal("1", task.Env["A"]);
        Assert.Equal("x=y", task.Env["B"]);
        Assert.Equal("/tmp", task.Cwd);
        Assert.True(task.NoHandshake);
        Assert.Equal("r1", spawn.Batch.RequestId);
    }

    [Fact]
    public void Nspawn_takes_a_count_and_partial()
    {
        var spawn = Assert.IsType<SpawnCommand>(Parse("nspawn", "3", "--partial", "--", "/bin/true"));
        Assert.Equal(3, spawn.Batch.Count);
        Assert.True(spawn.Batch.AllowPartial);
    }

    [Fact]
    public void Spawn_wait_runs_one_process_to_its_end_and_nspawn_has_no_wait()
    {
        Assert.True(Assert.IsType<SpawnCommand>(Parse("spawn", "--wait", "--", "/usr/bin/id")).Wait);
        Assert.False(Assert.IsType<SpawnCommand>(Parse("spawn", "--", "/usr/bin/id")).Wait);
        Assert.Contains("--wait", UsageError("nspawn", "2", "--wait", "--", "/bin/true"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-2")]
    [InlineData("x")]
    public void Nspawn_rejects_a_bad_count(string count) =>
        Assert.Contains("COUNT", UsageError("nspawn", count, "--", "/bin/true"), StringComparison.Ordinal);

    [Theory]
    [InlineData("--cpu", "-1", "--cpu:")]
    [InlineData("--cpu", "lots", "--cpu:")]
    [InlineData("--mem", "-5Mi", "--mem:")]
    [InlineData("--mem", "5Q", "--mem:")]
    [InlineData("--env", "NOEQUALS", "--env:")]
    [InlineData("--env", "=v", "--env:")]
    public void Bad_flag_values_are_usage_errors_naming_the_flag(string flag, string value, string prefix) =>
        Assert.StartsWith(prefix, UsageError("spawn", flag, value, "--", "/bin/true"), StringComparison.Ordinal);

    [Fact]
    public void A_flag_without_its_value_is_a_usage_error() =>
        Assert.Equal("--cpu needs a value", UsageError("spawn", "--cpu", "--", "/bin/true"));

    [Fact]
    public void Partial_is_only_for_nspawn() =>
        Assert.Contains("unknown option --partial", UsageError("spawn", "--partial", "--", "/bin/true"), StringComparison.Ordinal);

    [Fact]
    public void Spawn_without_a_program_is_a_usage_error() =>
        Assert.Contains("missing PATH", UsageError("spawn", "--cpu", "1", "--"), StringComparison.Ordinal);

    [Fact]
    public void Global_options_go_before_the_command_or_among_its_flags()
    {
        var before = CommandLineParser.Parse(["--tenant", "t1", "--api=http://h:1", "ps"]);
        Assert.Equal("t1", before.Globals.ResolveTenant(_ => null));
        Assert.Equal("http://h:1/", before.Globals.ResolveApis(_ => null).Single().AbsoluteUri);

        var among = CommandLineParser.Parse(["spawn", "--tenant", "t2", "--", "/bin/prog", "--tenant", "x"]);
        Assert.Equal("t2", among.Globals.ResolveTenant(_ => null));
    }

    [Theory]
    [InlineData("a/x")]
    [InlineData("..")]
    [InlineData("a b")]
    [InlineData("Acme")]
    [InlineData("")]
    public void Tenant_outside_the_shared_grammar_is_a_usage_error(string tenant) =>
        Assert.Contains("is not a tenant name (1-63 lowercase letters", UsageError("--tenant", tenant, "ps"), StringComparison.Ordinal);

    [Fact]
    public void Tenant_of_200_characters_is_a_usage_error_quoting_it_shortened()
    {
        var message = UsageError("--tenant", new string('a', 200), "ps");
        Assert.Contains("is not a tenant name", message, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('a', 100), message, StringComparison.Ordinal);
    }

    [Fact]
    public void Tenant_and_api_fall_back_to_the_environment_then_defaults()
    {
        var globals = CommandLineParser.Parse(["ps"]).Globals;
        var env = new Dictionary<string, string?> { ["NEFELE_TENANT"] = "envt", ["NEFELE_API"] = "http://10.0.0.1:9" };
        Assert.Equal("envt", globals.ResolveTenant(k => env.GetValueOrDefault(k)));
        Assert.Equal("http://10.0.0.1:9/", globals.ResolveApis(k => env.GetValueOrDefault(k)).Single().AbsoluteUri);
        Assert.Equal("default", globals.ResolveTenant(_ => null));
        Assert.Equal("http://127.0.0.1:7400/", globals.ResolveApis(_ => null).Single().AbsoluteUri);
    }

    [Fact]
    public void A_non_http_api_is_a_usage_error()
    {
        var globals = CommandLineParser.Parse(["--api", "ftp://x", "ps"]).Globals;
        Assert.StartsWith("--api:", Assert.Throws<UsageException>(() => globals.ResolveApis(_ => null)).Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "kill", A }, 15)]
    [InlineData(new[] { "kill", "-9", A }, 9)]
    [InlineData(new[] { "kill", "-KILL", A }, 9)]
    [InlineData(new[] { "kill", "-SIGKILL", A }, 9)]
    [InlineData(new[] { "kill", "-hup", A }, 1)]
    [InlineData(new[] { "kill", "-s", "USR1", A }, 10)]
    [InlineData(new[] { "kill", A, "-INT" }, 2)]
    public void Kill_parses_the_signal(string[] args, int signal)
    {
        var kill = Assert.IsType<KillCommand>(Parse(args));
        Assert.Equal(signal, kill.Signal);
        Assert.Equal([A], kill.Npids);
    }

    [Fact]
    public void Kill_takes_several_npids() =>
        Assert.Equal([A, B], Assert.IsType<KillCommand>(Parse("kill", "-TERM", A, B)).Npids);

    [Theory]
    [InlineData("-FOO")]
    [InlineData("-0")]
    [InlineData("-65")]
    public void Kill_rejects_an_unknown_signal(string signal) =>
        Assert.Contains("unknown signal", UsageError("kill", signal, A), StringComparison.Ordinal);

    [Fact]
    public void Kill_rejects_something_that_is_not_an_npid() =>
        Assert.Equal("'nope' is not an NPID", UsageError("kill", "nope"));

    [Fact]
    public void Killall_takes_a_signal_and_one_pattern()
    {
        var killall = Assert.IsType<KillallCommand>(Parse("killall", "-9", "work*"));
        Assert.Equal(9, killall.Signal);
        Assert.Equal("work*", killall.Pattern);
        Assert.Equal(15, Assert.IsType<KillallCommand>(Parse("killall", "worker")).Signal);
    }

    [Theory]
    [InlineData("*")]
    [InlineData("")]
    public void Killall_refuses_a_pattern_that_matches_everything(string pattern) =>
        Assert.Contains("matches every program", UsageError("killall", pattern), StringComparison.Ordinal);

    [Fact]
    public void Logs_takes_follow_and_one_npid()
    {
        var logs = Assert.IsType<LogsCommand>(Parse("logs", "-f", A));
        Assert.True(logs.Filter.Follow);
        Assert.Equal(A, Assert.Single(logs.Filter.Npids));
        Assert.True(logs.Raw);
        Assert.False(Assert.IsType<LogsCommand>(Parse("logs", A)).Filter.Follow);
    }

    [Fact]
    public void Logs_takes_filters_over_many_processes()
    {
        var logs = Assert.IsType<LogsCommand>(Parse("logs", "-f", "--name", "web", "--since", "5m", "--until=2026-12-05T20:00:00Z", "--node", "n2", "--stream", "stderr", "--npid", A, B, "-t"));
        Assert.Equal(("web", "n2", Nefele.Client.LogStream.Stderr, "5m", "2026-12-05T20:00:00Z", true),
            (logs.Filter.Name, logs.Filter.Node, logs.Filter.Stream, logs.Filter.Since, logs.Filter.Until, logs.Filter.Follow));
        Assert.Equal([A, B], logs.Filter.Npids);
        Assert.True(logs.Timestamps);
        Assert.False(logs.Raw);

        // One NPID with a filter reads records, not raw bytes; no NPID and no filter is every process.
        Assert.False(Assert.IsType<LogsCommand>(Parse("logs", "--since", "1h", A)).Raw);
        Assert.Empty(Assert.IsType<LogsCommand>(Parse("logs")).Filter.Npids);
    }

    [Theory]
    [InlineData(new[] { "logs", "--since", "5 minutes" }, "--since")]
    [InlineData(new[] { "logs", "--until", "2026-12-05" }, "--until")]
    [InlineData(new[] { "logs", "--name", "no spaces" }, "--name")]
    [InlineData(new[] { "logs", "--stream", "stdin" }, "stdin")]
    [InlineData(new[] { "logs", "--npid", "nope" }, "nope")]
    [InlineData(new[] { "logs", "--since" }, "--since")]
    public void Logs_refuses_a_bad_filter_naming_it(string[] args, string named) =>
        Assert.Contains(named, UsageError(args), StringComparison.Ordinal);

    [Fact]
    public void Monitor_takes_several_npids() =>
        Assert.Equal([A, B], Assert.IsType<MonitorCommand>(Parse("monitor", A, B)).Npids);

    [Fact]
    public void Ps_takes_json() => Assert.True(Assert.IsType<PsCommand>(Parse("ps", "--json")).Json);

    [Theory]
    [InlineData("-a")]
    [InlineData("--all")]
    public void Ps_all_adds_ended_processes(string flag)
    {
        var ps = Assert.IsType<PsCommand>(Parse("ps", flag, "--json"));
        Assert.True(ps.All);
        Assert.True(ps.Json);
        Assert.False(Assert.IsType<PsCommand>(Parse("ps")).All);
    }

    [Fact]
    public void Cspawn_takes_one_file() =>
        Assert.Equal("tasks.json", Assert.IsType<CspawnCommand>(Parse("cspawn", "tasks.json")).File);

    [Theory]
    [InlineData("help")]
    [InlineData("-h")]
    [InlineData("--help")]
    [InlineData("spawn", "-h")]
    [InlineData("kill", "--help")]
    public void Help_is_a_command_and_a_flag(params string[] args) => Assert.IsType<HelpCommand>(Parse(args));

    [Fact]
    public void Unknown_commands_and_a_missing_command_are_usage_errors()
    {
        Assert.Contains("unknown command 'frob'", UsageError("frob"), StringComparison.Ordinal);
        Assert.Contains("missing command", UsageError(), StringComparison.Ordinal);
    }
}
