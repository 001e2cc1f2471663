using System.Globalization;
using System.Text.RegularExpressions;
using Nefele.Client;

namespace Nefele.Tracing.Tests;

/// <summary>
/// hostd started with <c>--log-export otlp</c> sends each output record of a process to the OTLP
/// logs endpoint, as the real receiver decodes it: stdout and stderr apart (<c>log.iostream</c>),
/// with the process's identity, the time hostd read it, and its spawn's trace context.
/// </summary>
[Collection(OtlpCollection.Name)]
public sealed partial class ProcessOutputExportTests(TracingFixture fixture)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Output_records_of_both_streams_reach_the_otlp_receiver_with_the_process_identity()
    {
        var tenant = await fixture.Node.SdkAsync();
        var name = "exported-" + Guid.NewGuid().ToString("N")[..6];
        var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var npid = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/bin/sh",
            Args = ["-c", "echo \"TRACEPARENT=$TRACEPARENT\"; echo to-stdout; echo to-stderr >&2; exec sleep 600"],
            Name = name,
        }).WaitAsync(Bound);
        try
        {
            var records = await Eventually.Value(() =>
            {
                var mine = fixture.Receiver.LogRecords().Where(r => r.Attribute("nefele.npid") == npid).ToList();
                var stdout = string.Concat(mine.Where(r => r.Attribute("log.iostream") == "stdout").Select(r => r.Text));
                var stderr = string.Concat(mine.Where(r => r.Attribute("log.iostream") == "stderr").Select(r => r.Text));
                return Task.FromResult(stdout.Contains("to-stdout\n", StringComparison.Ordinal) && stderr == "to-stderr\n" ? mine : null);
            }, Bound, "the process's stdout and stderr records at the receiver");

            var process = await tenant.GetAsync(npid);
            var stdoutText = string.Concat(records.Where(r => r.Attribute("log.iostream") == "stdout").Select(r => r.Text));
            Assert.DoesNotContain("to-stderr", stdoutText, StringComparison.Ordinal);
            var (traceId, spanId) = Traceparent(stdoutText);
            foreach (var r in records)
            {
                Assert.Equal("Nefele.ProcessOutput", r.Scope);
                Assert.Equal("nefele-hostd", r.Service);
                Assert.Equal("default", r.Attribute("nefele.tenant"));
                Assert.Equal(process.Node, r.Attribute("nefele.node"));
                Assert.Equal(process.Pid.ToString(CultureInfo.InvariantCulture), r.Attribute("process.pid"));
                Assert.Equal(name, r.Attribute("nefele.name"));
                Assert.Equal("sh", r.Attribute("process.executable.name"));

                // The time hostd read it, not when the batch left; the spawn's context, as the process has it.
                Assert.InRange(long.Parse(r.TimeUnixNano, CultureInfo.InvariantCulture), before - 1_000_000_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000);
                Assert.Equal(traceId, r.TraceId);
                Assert.Equal(spanId, r.SpanId);
            }

            // hostd's own diagnostics are never in the output's scope.
            Assert.All(fixture.Receiver.LogRecords().Where(r => r.Scope == "Nefele.ProcessOutput"), r => Assert.NotNull(r.Attribute("nefele.npid")));
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    private static (string TraceId, string SpanId) Traceparent(string text)
    {
        var m = TraceparentLine().Match(text);
        Assert.True(m.Success, $"the process printed no W3C traceparent: {text}");
        return (m.Groups[1].Value, m.Groups[2].Value);
    }

    [GeneratedRegex("TRACEPARENT=00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]")]
    private static partial Regex TraceparentLine();
}
