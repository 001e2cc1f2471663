using Nefele.Cli.Json;
using Nefele.Cli.Output;
using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Cli.Tests;

public sealed class PsTableTests
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(5, "5s")]
    [InlineData(59.9, "59s")]
    [InlineData(60, "1m")]
    [InlineData(3 * 60 + 59, "3m")]
    [InlineData(2 * 3600 + 10, "2h")]
    [InlineData(4 * 86400 + 3600, "4d")]
    [InlineData(-30, "0s")]
    public void Age_is_truncated_to_the_largest_unit(double seconds, string shown) =>
        Assert.Equal(shown, Age.Format(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Table_has_the_header_and_aligned_columns()
    {
        ProcessInfo[] processes =
        [
            new()
            {
                Npid = "0123456789abc", Node = "node-a", Pid = 4242, State = ProcessState.Running, Tenant = "acme", CpuMillis = 250,
                MemoryBytes = 64L * 1024 * 1024, CreatedAt = Now.AddMinutes(-10), StartedAt = Now.AddSeconds(-5),
                Command = "/bin/sleep 100", CpuUsageNs = 120_000_000, MemoryUsageBytes = 3L * 1024 * 1024,
            },
            new()
            {
                Npid = "0123456789abd", State = ProcessState.Pending, Tenant = "acme", CreatedAt = Now.AddHours(-2), Command = "/usr/bin/long-program-name --x",
            },
        ];

        var lines = PsTable.Format(processes, Now).Split('\n');

        Assert.Equal("NPID           NODE    PID   STATE    CPU         MEM       AGE  COMMAND", lines[0]);
        Assert.Equal("0123456789abc  node-a  4242  Running  0.12s/250m  3Mi/64Mi  5s   /bin/sleep 100", lines[1]);
        Assert.Equal("0123456789abd  -       -     Pending  -           -         2h   /usr/bin/long-program-name --x", lines[2]);
        Assert.Equal(string.Empty, lines[3]);
    }

    [Fact]
    public void Container_column_appears_before_the_command_when_a_process_runs_in_one()
    {
        ProcessInfo[] processes =
        [
            new()
            {
                Npid = "0123456789abc", Node = "n1", Pid = 7, State = ProcessState.Running, Tenant = "acme",
                StartedAt = Now.AddSeconds(-5), Command = "/bin/sh", Container = "nf-acme-1a2b3c4d",
            },
            new() { Npid = "0123456789abd", Node = "n1", Pid = 8, State = ProcessState.Running, Tenant = "acme", StartedAt = Now.AddSeconds(-5), Command = "/bin/true" },
        ];

        var lines = PsTable.Format(processes, Now).Split('\n');

        Assert.Equal("NPID           NODE  PID  STATE    CPU  MEM  AGE  CONTAINER         COMMAND", lines[0]);
        Assert.Equal("0123456789abc  n1    7    Running  -    -    5s   nf-acme-1a2b3c4d  /bin/sh", lines[1]);
        Assert.Equal("0123456789abd  n1    8    Running  -    -    5s   -                 /bin/true", lines[2]);
    }

    [Theory]
    [InlineData(0, "-")]
    [InlineData(50_000_000, "0.05s")]
    [InlineData(12_340_000_000, "12.3s")]
    [InlineData(245_000_000_000, "4m05s")]
    [InlineData(7_980_000_000_000, "2h13m")]
    public void Cpu_time_is_shown_like_ps(long nanoseconds, string shown) => Assert.Equal(shown, PsTable.FormatCpuTime(nanoseconds));

    [Fact]
    public void Empty_table_is_just_the_header() =>
        Assert.Equal("NPID  NODE  PID  STATE  CPU  MEM  AGE  COMMAND\n", PsTable.Format([], Now));
}
