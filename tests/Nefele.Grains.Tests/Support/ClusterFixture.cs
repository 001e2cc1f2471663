using Microsoft.Extensions.DependencyInjection;
using Nefele.Client;
using Nefele.Nodes;
using Nefele.Placement;
using Nefele.Processes;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Nefele.Grains.Tests.Support;

/// <summary>
/// One silo wired as the real one is (silo name = node name, memory storage, Nefele's
/// grains and options), with <see cref="RecordingHostAgentChannel"/> in place of hostd.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const string Node = "node-a";

    /// <summary>The test silo's cluster secret; the test client holds it too (see <see cref="TestCallStamp"/>).</summary>
    public const string Secret = "grain-tests-cluster-secret";

    private InProcessTestCluster? _cluster;

    public RecordingHostAgentChannel Channel { get; } = new(Node);

    public AdjustableTimeProvider Time { get; } = new();

    public OfferBarrier Offers { get; } = new();

    public IClusterClient Client => _cluster!.Client;

    public INodeGrain NodeGrain => Client.GetGrain<INodeGrain>(Node);

    /// <summary>The test silo's idle time of external mailboxes: the shortest allowed, so a test can go past it.</summary>
    public static readonly TimeSpan MailboxIdleTimeout = TimeSpan.FromSeconds(15);

    /// <summary>The test silo's retention count (its age is the default, 1 h): small, so a test can go past it.</summary>
    public const int RetainedPerTenant = 20;

    /// <summary>Whether grain storage holds a record named <paramref name="stateName"/> for <paramref name="grain"/>.</summary>
    public Task<bool> StoredAsync<TState>(string stateName, IAddressable grain)
        where TState : new() => StoredAsync<TState>(stateName, grain.GetGrainId());

    /// <summary>Whether grain storage holds a record named <paramref name="stateName"/> under <paramref name="id"/>.</summary>
    public async Task<bool> StoredAsync<TState>(string stateName, GrainId id)
        where TState : new()
    {
        var storage = _cluster!.Silos[0].ServiceProvider.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Default);
        var read = new GrainState<TState>(new TState());
        await storage.ReadStateAsync(stateName, id, read);
        return read.RecordExists;
    }

    /// <summary>
    /// Writes <paramref name="grain"/>'s stored record again as it is, as another activation of the grain
    /// would: the activation that runs now holds an outdated version, and its next write is refused.
    /// </summary>
    public async Task RewriteAsync<TState>(string stateName, IAddressable grain)
        where TState : new()
    {
        var storage = _cluster!.Silos[0].ServiceProvider.GetRequiredKeyedService<Orleans.Storage.IGrainStorage>(StorageNames.Default);
        var record = new GrainState<TState>(new TState());
        await storage.ReadStateAsync(stateName, grain.GetGrainId(), record);
        await storage.WriteStateAsync(stateName, grain.GetGrainId(), record);
    }

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((options, silo) =>
        {
            options.SiloName = Node;
            silo.Configure<SiloOptions>(o => o.SiloName = Node);
            silo.AddMemoryGrainStorage(StorageNames.Default);
            silo.AddNefeleGrains();
            silo.AddOutgoingGrainCallFilter(Offers);
            silo.Services.AddSingleton<TimeProvider>(Time);
            silo.Services.AddSingleton(sp => new NpidGenerator(0, sp.GetRequiredService<TimeProvider>()));
            silo.Services.AddSingleton<IHostAgentChannel>(Channel);
            silo.Services.AddSingleton(new Auth.ClusterSecret(Secret));
            silo.Services.Configure<NodeOptions>(o =>
            {
                o.Name = Node;
                o.ReservedCpuMillis = 0;
                o.ReservedMemoryBytes = 0;
            });
            silo.Services.Configure<PlacementOptions>(o => o.MaxTasksPerRequest = 100);
            silo.Services.Configure<Retention.RetentionOptions>(o => o.Count = RetainedPerTenant);
            silo.Services.Configure<Messaging.MessagingOptions>(o => o.MailboxIdleTimeout = MailboxIdleTimeout);
        });
        builder.ConfigureClient(client => client.AddOutgoingGrainCallFilter(new TestCallStamp(Secret)));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>A tenant that exists (created unless it does).</summary>
    public async Task<Client.NefeleTenant> TenantAsync(string name)
    {
        await Client.GetGrain<Tenants.ITenantDirectoryGrain>(Tenants.ITenantDirectoryGrain.Key).EnsureAsync(name);
        return new Client.NefeleTenant(Client, name);
    }

    /// <summary>Ends a process as hostd would report it: exited with <paramref name="code"/>.</summary>
    public Task ExitAsync(string npid, int code = 0) =>
        Client.GetGrain<IProcessGrain>(npid).OnExitedAsync(new ProcessEnd
        {
            State = ProcessState.Exited,
            ExitCode = code,
            EndedAt = DateTimeOffset.UtcNow,
        });

    /// <summary>
    /// Ends every process the node still runs, so the next test starts with a free node.
    /// Exits already reported are replays the grain ignores.
    /// </summary>
    public async Task ExitEverythingAsync()
    {
        foreach (var launch in Channel.Launches.Where(l => l.Started))
        {
            await ExitAsync(launch.Npid);
        }

        var capacity = await NodeGrain.GetCapacityAsync();
        Assert.Equal(0, capacity.ReservedCpuMillis);
        Assert.Equal(0, capacity.ReservedMemoryBytes);
    }
}
