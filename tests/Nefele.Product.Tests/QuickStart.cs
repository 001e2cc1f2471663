using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Nefele.Product.Tests;

/// <summary>
/// The README's C# quick start: its program text, and one run of a build of it against a node,
/// checked line by line. The program spawns, monitors and reads the logs of a short process, shows
/// one error, then follows a longer process's output until it is interrupted with SIGINT (Ctrl-C).
/// </summary>
public static partial class QuickStart
{
    /// <summary>The marker in README.md before the quick start's code block.</summary>
    public const string Marker = "<!-- quick-start: examples/csharp/Program.cs -->";

    private static readonly TimeSpan OutputTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long Ctrl-C may take to end the program: a plain .NET program ends at once.</summary>
    private static readonly TimeSpan InterruptTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The code block that follows <see cref="Marker"/> in the README, as its text.</summary>
    public static string FromReadme()
    {
        var readme = File.ReadAllText(Path.Combine(RepoPaths.Root, "README.md"));
        var at = readme.IndexOf(Marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"README.md has no {Marker}");
        var open = readme.IndexOf("```csharp\n", at, StringComparison.Ordinal);
        Assert.True(open >= 0, "README.md has no ```csharp block after the quick-start marker");
        var start = open + "```csharp\n".Length;
        var end = readme.IndexOf("\n```", start, StringComparison.Ordinal);
        return readme[start..(end + 1)];
    }

    /// <summary>
    /// Runs <paramref name="dll"/> (a build of the quick start) in the node's namespace with the node's
    /// admin key, waits until it follows the longer process's output, interrupts it with SIGINT and
    /// checks what it printed and how it ended.
    /// </summary>
    public static async Task RunAndInterruptAsync(NetnsNode node, string dll)
    {
        var psi = node.InNamespace("dotnet", [dll]);
        psi.Environment["NEFELE_TOKEN"] = node.AdminKey;
        // Never a key or setting of the machine's own node.
        psi.Environment["NEFELE_ADMIN_KEY_FILE"] = "/nonexistent";
        psi.Environment["XDG_CONFIG_HOME"] = "/nonexistent";
        var stdout = new List<string>();
        var stderr = new StringBuilder();
        var ticking = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (stdout)
            {
                stdout.Add(e.Data);
            }

            if (e.Data.StartsWith("tick ", StringComparison.Ordinal))
            {
                ticking.TrySetResult();
            }
        };
        p.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        string Output()
        {
            lock (stdout)
            {
                lock (stderr)
                {
                    return $"stdout:\n{string.Join('\n', stdout)}\nstderr:\n{stderr}\nnode:\n{node.Log}";
                }
            }
        }

        try
        {
            var first = await Task.WhenAny(ticking.Task, p.WaitForExitAsync(), Task.Delay(OutputTimeout));
            Assert.True(first == ticking.Task, $"the quick start did not reach the followed output ({(p.HasExited ? $"exited {p.ExitCode}" : "still running")}):\n{Output()}");

            // Ctrl-C: SIGINT to the program's own PID (nsenter exec'd it).
            Assert.Equal(0, Interop.Kill(p.Id, 2));
            using (var cts = new CancellationTokenSource(InterruptTimeout))
            {
                try
                {
                    await p.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    Assert.Fail($"the quick start still ran {InterruptTimeout.TotalSeconds} s after SIGINT:\n{Output()}");
                }
            }

            // As any .NET program that does not handle Ctrl-C: ended by SIGINT (128 + 2).
            Assert.True(p.ExitCode == 130, $"exit {p.ExitCode} after SIGINT, expected 130:\n{Output()}");
            CheckOutput([.. stdout], Output);
        }
        finally
        {
            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync();
            }
        }
    }

    /// <summary>
    /// Every line is one the program prints, in its order: nothing else (no Orleans log) on stdout.
    /// </summary>
    private static void CheckOutput(IReadOnlyList<string> lines, Func<string> output)
    {
        var i = 0;
        string Next(string what)
        {
            Assert.True(i < lines.Count, $"stdout ended before {what}:\n{output()}");
            return lines[i++];
        }

        var spawned = SpawnedLine().Match(Next("the spawned NPID"));
        Assert.True(spawned.Success, $"line {i} is not 'spawned NPID':\n{output()}");
        var npid = spawned.Groups[1].Value;

        // The monitor: states in order, each once, ending with the exit status the program asked for.
        var states = new List<string>();
        string line;
        while ((line = Next("the monitor's last state")).StartsWith(npid + " ", StringComparison.Ordinal))
        {
            states.Add(line[(npid.Length + 1)..]);
            if (states[^1].StartsWith("Exited", StringComparison.Ordinal))
            {
                break;
            }
        }

        Assert.True(states.Count > 0 && states[^1] == "Exited: exited 3", $"the monitor did not end with 'Exited: exited 3':\n{output()}");
        Assert.Contains("Running", states);
        Assert.Equal(states.Count, states.Distinct().Count());

        // The logs: what the shell echoed (its hostname is the node's, whatever it is).
        Assert.StartsWith("hello from ", Next("the logs"), StringComparison.Ordinal);

        // The error: a sentence naming the program, then a stable code (snake_case, as in the error catalogue).
        var error = Next("the error line");
        Assert.True(ErrorLine().IsMatch(error) && error.Contains("/no/such/program", StringComparison.Ordinal), $"not 'message naming /no/such/program (code)': {error}\n{output()}");

        // The followed output, as far as it came before SIGINT.
        var n = 0;
        while (i < lines.Count)
        {
            Assert.Equal($"tick {++n}", Next("the ticks"));
        }

        Assert.True(n >= 1, $"no tick before SIGINT:\n{output()}");
    }

    [GeneratedRegex(@"^spawned (\S+)$")]
    private static partial Regex SpawnedLine();

    [GeneratedRegex(@"^\S.* \([a-z][a-z_]*\)$")]
    private static partial Regex ErrorLine();
}
