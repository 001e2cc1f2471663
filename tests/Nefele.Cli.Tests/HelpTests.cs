using System.Diagnostics;
using System.Reflection;
using Nefele.Cli.Parsing;

namespace Nefele.Cli.Tests;

/// <summary>What a newcomer meets: each command's own help, suggestions for typos, the version, completion scripts.</summary>
public sealed class HelpTests
{
    private static readonly Dictionary<string, string?> NoEnv = [];

    [Theory]
    [InlineData("spawn")]
    [InlineData("monitor")]
    [InlineData("logs")]
    [InlineData("key")]
    public async Task Help_for_a_command_is_that_commands_own_whichever_way_it_is_asked(string command)
    {
        var asked = await NefRun.RunAsync(NoEnv, "help", command);
        var flag = await NefRun.RunAsync(NoEnv, command, "--help");

        Assert.Equal(0, asked.Status);
        Assert.StartsWith($"usage: nef {command} ", asked.Out, StringComparison.Ordinal);
        Assert.Equal(asked.Out, flag.Out);
        var others = CommandCatalogue.Commands.Where(c => c.Name != command).Select(c => $"usage: nef {c.Name} ");
        Assert.All(others, other => Assert.DoesNotContain(other, asked.Out, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_overview_lists_every_command()
    {
        var run = await NefRun.RunAsync(NoEnv, "help");

        Assert.Equal(0, run.Status);
        foreach (var name in new[] { "spawn", "nspawn", "cspawn", "ps", "monitor", "kill", "killall", "logs", "whoami", "tenant", "key", "completion", "help" })
        {
            Assert.Contains($"\n  {name}", run.Out, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new[] { "spwan", "--", "/bin/true" }, "unknown command 'spwan' (did you mean spawn?)")]
    [InlineData(new[] { "moniter", "0123456789abc" }, "unknown command 'moniter' (did you mean monitor?)")]
    [InlineData(new[] { "help", "lgos" }, "help: no command 'lgos' (did you mean logs?)")]
    [InlineData(new[] { "spawn", "--mme", "1", "--", "/bin/true" }, "spawn: unknown option --mme (did you mean --mem?)")]
    [InlineData(new[] { "ps", "--jsno" }, "ps: unknown option --jsno (did you mean --json?)")]
    [InlineData(new[] { "--tenat", "a", "ps" }, "unknown option --tenat (did you mean --tenant?)")]
    public async Task A_typo_gets_a_suggestion(string[] args, string message)
    {
        var run = await NefRun.RunAsync(NoEnv, args);

        Assert.Equal((2, $"nef: {message}\n"), (run.Status, run.Err));
    }

    [Fact]
    public async Task A_word_far_from_every_command_gets_no_guess()
    {
        var run = await NefRun.RunAsync(NoEnv, "frobnicate");

        Assert.Equal((2, "nef: unknown command 'frobnicate' (try nef help)\n"), (run.Status, run.Err));
    }

    [Fact]
    public async Task Version_prints_nefs_version()
    {
        var run = await NefRun.RunAsync(NoEnv, "--version");

        Assert.Equal(0, run.Status);
        Assert.Matches(@"^nef \d+\.\d+\.\d+.*\n$", run.Out);
    }

    [Fact]
    public async Task Version_is_the_assemblys_informational_version_and_commit()
    {
        var informational = typeof(NefApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        var (version, commit) = informational.IndexOf('+', StringComparison.Ordinal) is var plus and >= 0
            ? (informational[..plus], informational[(plus + 1)..])
            : (informational, null);

        var run = await NefRun.RunAsync(NoEnv, "--version");

        Assert.Equal(commit is null ? $"nef {version}\n" : $"nef {version} (commit {commit[..Math.Min(12, commit.Length)]})\n", run.Out);
    }

    [Theory]
    [InlineData("--version")]
    [InlineData("help")]
    [InlineData("completion", "bash")]
    public async Task Commands_that_do_not_talk_to_nefele_read_no_settings(params string[] args)
    {
        // An unusable API in the environment and a config file that cannot be read: neither is looked at.
        var env = new Dictionary<string, string?> { ["NEFELE_API"] = "ftp://nowhere", ["XDG_CONFIG_HOME"] = "/nonexistent" };

        var run = await NefRun.RunAsync(env, args);

        Assert.Equal((0, string.Empty), (run.Status, run.Err));
    }

    [Theory]
    [InlineData("--tenant", "other")]
    [InlineData("--api", "http://127.0.0.1:1")]
    public async Task Tenant_and_api_inside_a_nefele_process_are_refused(string flag, string value)
    {
        var run = await NefRun.RunAsync(new Dictionary<string, string?> { ["NEFELE_SOCKET"] = "/nonexistent/api.sock" }, flag, value, "ps");

        Assert.Equal(2, run.Status);
        Assert.StartsWith($"nef: {flag} is not available inside a Nefele process", run.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_bash_completion_completes_commands_flags_and_spawn_programs()
    {
        var script = Path.Combine(Path.GetTempPath(), $"nef-completion-{Guid.NewGuid():N}.bash");
        await File.WriteAllTextAsync(script, (await NefRun.RunAsync(NoEnv, "completion", "bash")).Out);
        try
        {
            Assert.Equal(["spawn"], await CompleteAsync(script, "nef", "spa"));
            Assert.Contains("--mem", await CompleteAsync(script, "nef", "spawn", "--m"));
            Assert.Equal(["--json"], await CompleteAsync(script, "nef", "--tenant", "t", "ps", "--j"));
            Assert.Equal(["create"], await CompleteAsync(script, "nef", "tenant", "cr"));
            Assert.Contains("sh", await CompleteAsync(script, "nef", "spawn", "--", "sh"));
        }
        finally
        {
            File.Delete(script);
        }
    }

    [Fact]
    public async Task The_zsh_completion_completes_commands_and_flags_in_zsh()
    {
        // zsh comes with the install step (scripts/lib.sh, nefele_install_deps).
        Assert.True(File.Exists("/usr/bin/zsh") || File.Exists("/bin/zsh"), "zsh is not installed (scripts/lib.sh's nefele_install_deps installs it)");
        var dir = Directory.CreateTempSubdirectory("nef-zsh-completion-");
        var script = Path.Combine(dir.FullName, "nef.zsh");
        await File.WriteAllTextAsync(script, (await NefRun.RunAsync(NoEnv, "completion", "zsh")).Out);
        try
        {
            Assert.Equal(["spawn"], await ZshCompleteAsync(dir.FullName, script, "nef", "spa"));
            Assert.Equal(["--mem"], await ZshCompleteAsync(dir.FullName, script, "nef", "spawn", "--m"));
            Assert.Equal(["--json"], await ZshCompleteAsync(dir.FullName, script, "nef", "--tenant", "t", "ps", "--j"));
            Assert.Equal(["--tenant"], await ZshCompleteAsync(dir.FullName, script, "nef", "--t"));
            Assert.Equal(["create"], await ZshCompleteAsync(dir.FullName, script, "nef", "tenant", "cr"));
            Assert.Empty(await ZshCompleteAsync(dir.FullName, script, "nef", "--tenant", "sp"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Loads the completion script into zsh (after compinit, as a user's .zshrc does) and calls its
    /// function with the words typed so far, the last one being completed. compadd and _describe,
    /// which hand candidates to the line editor, print instead those that start with that word.
    /// </summary>
    private static async Task<string[]> ZshCompleteAsync(string home, string script, params string[] words)
    {
        var psi = new ProcessStartInfo("zsh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["HOME"] = home;
        psi.Environment["ZDOTDIR"] = home;
        psi.ArgumentList.Add("-f");
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add("""
            autoload -U compinit && compinit -D -u
            source "$1"; shift
            compadd() { while (( $# )) && [[ $1 != -- ]]; do shift; done; shift; local w; for w in "$@"; do [[ $w == ${words[CURRENT]}* ]] && print -r -- $w; done; return 0 }
            _describe() { local e; for e in "${(@P)2}"; do e=${e%%:*}; [[ $e == ${words[CURRENT]}* ]] && print -r -- $e; done; return 0 }
            words=("$@"); CURRENT=$#
            _nef
            """);
        psi.ArgumentList.Add("zsh");
        psi.ArgumentList.Add(script);
        foreach (var word in words)
        {
            psi.ArgumentList.Add(word);
        }

        using var zsh = Process.Start(psi)!;
        var output = zsh.StandardOutput.ReadToEndAsync();
        var error = zsh.StandardError.ReadToEndAsync();
        await zsh.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(zsh.ExitCode == 0, await error);
        return (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    /// <summary>Runs the completion function in bash as a shell would for the words typed so far (the last one being completed).</summary>
    private static async Task<string[]> CompleteAsync(string script, params string[] words)
    {
        var line = string.Join(' ', words.Select(w => $"'{w}'"));
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"source '{script}'; COMP_WORDS=({line}); COMP_CWORD={words.Length - 1}; _nef; printf '%s\\n' \"${{COMPREPLY[@]}}\"");
        using var bash = Process.Start(psi)!;
        var output = await bash.StandardOutput.ReadToEndAsync();
        var error = await bash.StandardError.ReadToEndAsync();
        await bash.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(bash.ExitCode == 0, error);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
