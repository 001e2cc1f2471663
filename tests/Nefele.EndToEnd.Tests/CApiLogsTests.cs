using System.Text;
using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// libnefele's logs of many processes (nefele_logs_open / _next / _close, NEFELE_1.3) from a C
/// program running as a Nefele process on a real node: the silo's merged query behind a cursor.
/// </summary>
[Collection(CApiNode.Name)]
public sealed class CApiLogsTests(NodeFixture fixture) : IDisposable
{
    // Linux errno values (asm-generic/errno.h), written here independently of nefele.h.
    private const int EINVAL = 22;

    private const string Program = """
        #include <nefele.h>
        #include <errno.h>
        #include <stdio.h>
        #include <stdlib.h>
        #include <string.h>

        static void print_record(const nefele_log_record *r) {
            size_t len = r->len;
            if (len && ((const char *)r->data)[len - 1] == '\n') len--;
            printf("rec %s %s %s %d %.*s\n", r->npid, r->name[0] ? r->name : "-", r->node, r->stream, (int)len, (const char *)r->data);
        }

        /* read NAME STREAM: every kept record of the processes named NAME (STREAM 0: both), then the end. */
        static int read_all(const char *name, int stream) {
            nefele_logs_filter f = { 0 };
            f.name = name;
            f.stream = stream;
            nefele_logs_cursor *c;
            int rc = nefele_logs_open(&f, &c);
            if (rc < 0) { printf("open rc=%d error=%s\n", rc, nefele_last_error()); return 1; }
            nefele_log_record r;
            while ((rc = nefele_logs_next(c, &r, 20000)) == 1) print_record(&r);
            printf("end rc=%d%s%s\n", rc, rc < 0 ? " error=" : "", rc < 0 ? nefele_last_error() : "");
            nefele_logs_close(c);
            return rc < 0;
        }

        /* follow NAME N: follows the stdout of the processes named NAME until N records came. */
        static int follow(const char *name, int want) {
            nefele_logs_filter f = { 0 };
            f.name = name;
            f.stream = NEFELE_STDOUT;
            f.follow = 1;
            nefele_logs_cursor *c;
            int rc = nefele_logs_open(&f, &c);
            if (rc < 0) { printf("open rc=%d error=%s\n", rc, nefele_last_error()); return 1; }
            printf("opened\n");
            int got = 0, waits = 0;
            nefele_log_record r;
            while (got < want && waits < 12) {
                rc = nefele_logs_next(c, &r, 5000);
                if (rc == 1) { print_record(&r); got++; continue; }
                if (rc == -ETIMEDOUT) { waits++; continue; }
                printf("next rc=%d error=%s\n", rc, rc < 0 ? nefele_last_error() : "");
                break;
            }
            nefele_logs_close(c);
            printf("done %d\n", got);
            return got != want;
        }

        /* bad: filters the library or the silo refuses, each with its message. */
        static int bad(void) {
            nefele_logs_cursor *c = NULL;
            nefele_logs_filter f = { 0 };
            f.name = "no spaces allowed";
            int rc = nefele_logs_open(&f, &c);
            printf("badname rc=%d cursor=%d error=%s\n", rc, c != NULL, nefele_last_error());
            nefele_logs_filter g = { 0 };
            g.stream = 7;
            rc = nefele_logs_open(&g, &c);
            printf("badstream rc=%d cursor=%d error=%s\n", rc, c != NULL, nefele_last_error());
            nefele_logs_filter h = { 0 };
            h.node = "no-such-node-anywhere";
            rc = nefele_logs_open(&h, &c);
            nefele_log_record r;
            int next = rc == 0 ? nefele_logs_next(c, &r, 20000) : rc;
            printf("nonode rc=%d next=%d\n", rc, next);
            nefele_logs_close(c);
            return 0;
        }

        int main(int argc, char **argv) {
            setvbuf(stdout, NULL, _IOLBF, 0);
            const char *mode = argc > 1 ? argv[1] : "";
            if (strcmp(mode, "read") == 0 && argc > 3) return read_all(argv[2], atoi(argv[3]));
            if (strcmp(mode, "follow") == 0 && argc > 3) return follow(argv[2], atoi(argv[3]));
            if (strcmp(mode, "bad") == 0) return bad();
            printf("unknown mode %s\n", mode);
            return 2;
        }
        """;

    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private readonly string _dir = TestDirectory.Create("nefele-capi-logs-");

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task A_C_program_reads_the_records_of_two_processes_of_one_name_with_a_stream_filter()
    {
        var binary = await BinaryAsync();
        var tenant = await Node.SdkAsync("capi-logs-read");
        var name = Unique("twin");
        var one = await tenant.SpawnAsync(Sh(name, "echo one-out; echo one-err >&2"));
        var two = await tenant.SpawnAsync(Sh(name, "echo two-out; echo two-err >&2"));
        var other = await tenant.SpawnAsync(Sh(name + "-x", "echo other-err >&2"));
        string? stderrReader = null, bothReader = null;
        try
        {
            foreach (var npid in new[] { one, two, other })
            {
                await tenant.WaitAsync(npid).WaitAsync(Bound);
            }

            stderrReader = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["read", name, "2"] });
            var errors = await CApiMessagingTests.OutputAfterEndAsync(tenant, stderrReader);
            Assert.Equal(
                new[] { $"rec {one} {name} {Node.Name} 2 one-err", $"rec {two} {name} {Node.Name} 2 two-err" }.Order(StringComparer.Ordinal),
                CApiMessagingTests.Lines(errors, "rec ").Order(StringComparer.Ordinal));
            Assert.Equal("end rc=0", CApiMessagingTests.Line(errors, "end "));

            bothReader = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["read", name, "0"] });
            var both = CApiMessagingTests.Lines(await CApiMessagingTests.OutputAfterEndAsync(tenant, bothReader), "rec ");
            Assert.Equal(4, both.Length);
            Assert.Equal(["one-err", "one-out", "two-err", "two-out"], both.Select(l => l.Split(' ')[5]).Order(StringComparer.Ordinal));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, [one, two, other, .. new[] { stderrReader, bothReader }.OfType<string>()]);
        }
    }

    [Fact]
    public async Task A_C_follower_reads_what_was_kept_then_the_stdout_of_a_process_of_that_name_started_later()
    {
        var binary = await BinaryAsync();
        var tenant = await Node.SdkAsync("capi-logs-follow");
        var name = Unique("later");
        var early = await tenant.SpawnAsync(Sh(name, "echo early-out"));
        string? follower = null, late = null;
        try
        {
            await tenant.WaitAsync(early).WaitAsync(Bound);
            follower = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["follow", name, "2"] });
            await WaitForOutputAsync(tenant, follower, "opened\n");

            // It stays running until the test ends: a follow looks for new processes among the running ones.
            late = await tenant.SpawnAsync(Sh(name, "echo late-err >&2; echo late-out; exec sleep 600"));
            var output = await OutputOnceEndedAsync(tenant, follower);

            Assert.Equal([$"rec {early} {name} {Node.Name} 1 early-out", $"rec {late} {name} {Node.Name} 1 late-out"], CApiMessagingTests.Lines(output, "rec "));
            Assert.Equal("done 2", CApiMessagingTests.Line(output, "done "));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, [early, .. new[] { follower, late }.OfType<string>()]);
        }
    }

    [Fact]
    public async Task Bad_filters_get_EINVAL_with_a_message_naming_what_was_wrong_and_open_nothing()
    {
        var binary = await BinaryAsync();
        var tenant = await Node.SdkAsync("capi-logs-bad");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = binary, Args = ["bad"] });
        var output = await CApiMessagingTests.OutputAfterEndAsync(tenant, npid);

        // The silo refuses a malformed name as the SDK and REST do.
        var badName = CApiMessagingTests.Line(output, "badname ");
        Assert.StartsWith($"badname rc={-EINVAL} cursor=0 error=bad_request", badName, StringComparison.Ordinal);
        Assert.Contains("is not a process name", badName, StringComparison.Ordinal);

        var badStream = CApiMessagingTests.Line(output, "badstream ");
        Assert.StartsWith($"badstream rc={-EINVAL} cursor=0 ", badStream, StringComparison.Ordinal);
        Assert.Contains("stream 7", badStream, StringComparison.Ordinal);

        // A node no process ran on is a filter that matches nothing: the read ends at once.
        Assert.Equal("nonode rc=0 next=0", CApiMessagingTests.Line(output, "nonode "));
    }

    [Fact]
    public async Task Nef_inside_a_process_reads_two_processes_of_one_name_with_a_stream_filter_and_refuses_a_bad_name()
    {
        var nef = Path.Combine(RepoPaths.Root, "bin", "nef");
        var tenant = await Node.SdkAsync("capi-logs-nef");
        var name = Unique("nefq");
        var one = await tenant.SpawnAsync(Sh(name, "echo one-out; echo one-err >&2"));
        var two = await tenant.SpawnAsync(Sh(name, "echo two-out; echo two-err >&2"));
        string? shell = null;
        try
        {
            await tenant.WaitAsync(one).WaitAsync(Bound);
            await tenant.WaitAsync(two).WaitAsync(Bound);
            shell = await tenant.SpawnAsync(new ProcessSpec
            {
                Path = "/bin/sh",
                Args = ["-c", $"'{nef}' logs --name {name} --stream stderr 2>&1; echo \"rc=$?\"; '{nef}' logs --name 'no spaces' 2>&1; echo \"bad=$?\""],
            });
            var output = await CApiMessagingTests.OutputAfterEndAsync(tenant, shell);

            Assert.Contains($"{name}/{one} stderr | one-err", output, StringComparison.Ordinal);
            Assert.Contains($"{name}/{two} stderr | two-err", output, StringComparison.Ordinal);
            Assert.DoesNotContain("-out", output, StringComparison.Ordinal);
            Assert.Contains("rc=0", output, StringComparison.Ordinal);
            Assert.Contains("is not a process name", output, StringComparison.Ordinal);
            Assert.DoesNotContain("bad=0", output, StringComparison.Ordinal);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, [one, two, .. new[] { shell }.OfType<string>()]);
        }
    }

    [Fact]
    public async Task A_cursor_the_silo_does_not_hold_is_a_bad_request_that_says_so()
    {
        var tenant = await Node.SdkAsync("capi-logs-cursor");
        var probe = Path.Combine(RepoPaths.Root, "tests", "Nefele.ProcessProbe", "bin", RepoPaths.Configuration, "net10.0", "nefele-process-probe.dll");
        Assert.True(File.Exists(probe), $"{probe} is missing: build the solution");
        var npid = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "dotnet",
            Args = [probe, "logs-cursor", "00112233445566778899aabbccddeeff"],
            Env = new Dictionary<string, string> { ["HOME"] = _dir, ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1", ["DOTNET_NOLOGO"] = "1" },
        });
        var output = await CApiMessagingTests.OutputAfterEndAsync(tenant, npid);

        var line = CApiMessagingTests.Line(output, "cursor ");
        Assert.StartsWith("cursor error=bad_request ", line, StringComparison.Ordinal);
        Assert.Contains("is not open", line, StringComparison.Ordinal);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ProcessSpec Sh(string name, string script) => new() { Path = "/bin/sh", Args = ["-c", script], Name = name };

    private static string Unique(string what) => what + "-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Reads the process's output until it contains <paramref name="text"/> (bounded).</summary>
    private static async Task WaitForOutputAsync(NefeleTenant tenant, string npid, string text)
    {
        using var bound = new CancellationTokenSource(Bound);
        var seen = new StringBuilder();
        await foreach (var chunk in tenant.LogsAsync(npid, follow: true, ct: bound.Token))
        {
            seen.Append(Encoding.UTF8.GetString(chunk));
            if (seen.ToString().Contains(text, StringComparison.Ordinal))
            {
                return;
            }
        }

        throw new Xunit.Sdk.XunitException($"{npid} ended before it wrote '{text}':\n{seen}");
    }

    /// <summary>What the process wrote once it ended; a process still running after the bound fails the test with what it wrote so far.</summary>
    private static async Task<string> OutputOnceEndedAsync(NefeleTenant tenant, string npid)
    {
        var ended = true;
        try
        {
            await tenant.WaitAsync(npid).WaitAsync(Bound + Bound);
        }
        catch (TimeoutException)
        {
            ended = false;
        }

        var text = new StringBuilder();
        await foreach (var chunk in tenant.LogsAsync(npid, follow: false))
        {
            text.Append(Encoding.UTF8.GetString(chunk));
        }

        Assert.True(ended, $"{npid} did not end; it wrote:\n{text}");
        return text.ToString();
    }

    private Task<string> BinaryAsync() => LibnefeleProgram.CompileAsync(_dir, "logs", Program);
}
