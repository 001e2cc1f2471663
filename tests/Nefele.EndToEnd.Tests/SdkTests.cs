using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nefele.Client;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// The SDK's manners in a .NET program: how it connects, fails to connect, is cancelled and
/// disposed, how it sits in a generic host, and that a program using it keeps its signals and
/// its stdout.
/// </summary>
public sealed class SdkTests(NodeFixture fixture) : IClassFixture<NodeFixture>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private NodeUnderTest Node => fixture.Node;

    [Fact]
    public async Task Connect_with_no_node_listening_fails_within_the_timeout_naming_the_gateway()
    {
        var port = FreePort.Next();
        var options = new NefeleClientOptions { Gateways = { $"127.0.0.1:{port}" }, ApiKey = Node.AdminKey, ConnectTimeout = TimeSpan.FromSeconds(2) };

        // A connect that kept retrying would end in the TimeoutException of WaitAsync instead.
        var e = await Assert.ThrowsAsync<NefeleException>(() => NefeleConnection.ConnectAsync(options).WaitAsync(Bound));

        Assert.Equal(ErrorCodes.NodeUnavailable, e.Code);
        Assert.Contains($"127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connect_with_a_malformed_gateway_names_it_and_connects_nothing()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => NefeleConnection.ConnectAsync(new NefeleClientOptions { Gateways = { "localhost" }, ApiKey = Node.AdminKey }));
        Assert.Contains("'localhost'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_twice_is_quiet()
    {
        var logs = new RecordingLoggerProvider();
        using var factory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Warning));
        var options = Node.Options(Node.AdminKey);
        options.LoggerFactory = factory;
        var connection = await NefeleConnection.ConnectAsync(options).WaitAsync(Bound);
        Assert.NotNull(await connection.Tenant().PsAsync().WaitAsync(Bound));

        await connection.DisposeAsync();
        var before = logs.Entries.Count;
        await connection.DisposeAsync();

        Assert.Equal(before, logs.Entries.Count);
        Assert.DoesNotContain(logs.Entries, e => e.Contains(nameof(ObjectDisposedException), StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_cancelled_token_cancels_spawn_ps_and_get()
    {
        var tenant = await Node.SdkAsync();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tenant.SpawnAsync(new ProcessSpec { Path = "/bin/true" }, ct: cancelled.Token).WaitAsync(Bound));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tenant.PsAsync(ct: cancelled.Token).WaitAsync(Bound));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => tenant.GetInfoAsync(cancelled.Token).WaitAsync(Bound));
    }

    [Fact]
    public async Task Cancelling_a_monitor_ends_it_while_the_process_runs()
    {
        var tenant = await Node.SdkAsync();
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["300"] }).WaitAsync(Bound);
        try
        {
            using var cts = new CancellationTokenSource();
            var seen = new List<ProcessEvent>();
            var monitoring = Task.Run(async () =>
            {
                await foreach (var e in tenant.MonitorAsync(npid, ct: cts.Token))
                {
                    seen.Add(e);
                    if (e.State == ProcessState.Running)
                    {
                        // Running is not terminal: without the token the stream would wait for the end.
                        await cts.CancelAsync();
                    }
                }
            });

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => monitoring.WaitAsync(Bound));
            Assert.Contains(seen, e => e.State == ProcessState.Running);
            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(npid).WaitAsync(Bound)).State);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task Spawn_of_a_missing_path_throws_program_not_found_naming_it()
    {
        var tenant = await Node.SdkAsync();

        var e = await Assert.ThrowsAsync<NefeleException>(() => tenant.SpawnAsync(new ProcessSpec { Path = "/nonexistent/sdk-program" }).WaitAsync(Bound));

        Assert.Equal(ErrorCodes.ProgramNotFound, e.Code);
        Assert.Contains("/nonexistent/sdk-program: no such file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddNefeleClient_connects_from_configuration_when_the_host_starts_and_disconnects_when_it_stops()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Nefele:Gateways:0"] = $"127.0.0.1:{Node.GatewayPort}",
            ["Nefele:ApiKey"] = Node.AdminKey,
            ["Nefele:Tenant"] = "hosted",
            ["Nefele:ConnectTimeout"] = "00:00:20",
        });
        builder.Services.AddNefeleClient(o => o.ClusterId = NefeleDefaults.ClusterId);
        await (await Node.AdminAsync()).Admin.EnsureTenantAsync("hosted").WaitAsync(Bound);
        using var host = builder.Build();

        Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<NefeleTenant>());
        await host.StartAsync().WaitAsync(Bound);
        var tenant = host.Services.GetRequiredService<NefeleTenant>();
        Assert.Equal("hosted", tenant.Name);
        Assert.Equal("hosted", (await tenant.GetInfoAsync().WaitAsync(Bound)).Name);

        await host.StopAsync().WaitAsync(Bound);
        await Assert.ThrowsAnyAsync<Exception>(() => tenant.PsAsync().WaitAsync(Bound));
    }

    [Theory]
    [InlineData(2, "SIGINT")]
    [InlineData(15, "SIGTERM")]
    public async Task A_program_using_the_SDK_ends_on_a_signal_and_its_stdout_has_only_its_own_output(int signal, string name)
    {
        var probe = Path.Combine(RepoPaths.Root, "tests", "Nefele.SdkProbe", "bin", RepoPaths.Configuration, "net10.0", "nefele-sdk-probe.dll");
        Assert.True(File.Exists(probe), $"{probe} is missing: build the solution");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { probe, $"127.0.0.1:{Node.GatewayPort}", Node.AdminKey })
        {
            psi.ArgumentList.Add(a);
        }

        using var child = Process.Start(psi)!;
        try
        {
            var stderr = child.StandardError.ReadToEndAsync();
            var first = await child.StandardOutput.ReadLineAsync().WaitAsync(Bound);
            Assert.True(first is not null && first.StartsWith("connected, ", StringComparison.Ordinal), $"first line {first}; stderr {(child.HasExited ? await stderr : "(running)")}");

            Assert.Equal(0, Interop.Kill(child.Id, signal));
            using var exit = new CancellationTokenSource(Bound);
            await child.WaitForExitAsync(exit.Token);

            var rest = await child.StandardOutput.ReadToEndAsync().WaitAsync(Bound);
            Assert.True(rest.Length == 0, $"after {name}, stdout had more than the program's line: {rest}");
        }
        finally
        {
            if (!child.HasExited)
            {
                await Cleanup.KillPidAsync(child.Id);
            }
        }
    }

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        public List<string> Entries { get; } = [];

        public ILogger CreateLogger(string categoryName) => new Recorder(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Recorder(RecordingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner.Entries)
                {
                    owner.Entries.Add($"{logLevel} {category}: {formatter(state, exception)} {exception}");
                }
            }
        }
    }
}
