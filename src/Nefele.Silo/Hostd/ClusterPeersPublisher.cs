using Nefele.Protocol.V1;

namespace Nefele.Silo.Hostd;

/// <summary>
/// Tells this node's hostd which nodes the cluster has, so that its tenant networks' tunnels reach
/// the same tenants' networks on every other node (and follow nodes that join and leave): the
/// cluster address each active silo advertises, from Orleans' membership. Pushed at every attach
/// and at every membership change, as a snapshot with the membership version (hostd keeps the newest).
/// </summary>
internal sealed class ClusterPeersPublisher(
    HostAgentChannel channel,
    IClusterMembershipService membership,
    ILocalSiloDetails local,
    ILogger<ClusterPeersPublisher> logger) : BackgroundService
{
    private readonly SemaphoreSlim _pushing = new(1, 1);

    /// <summary>The peer list as membership has it now.</summary>
    public ClusterPeersUpdate Current()
    {
        var snapshot = membership.CurrentSnapshot;
        var update = new ClusterPeersUpdate
        {
            Version = (ulong)Math.Max(0, snapshot.Version.Value),
            SelfAddress = local.SiloAddress.Endpoint.Address.ToString(),
        };
        update.PeerAddresses.AddRange(snapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(local.SiloAddress))
            .Select(m => m.SiloAddress.Endpoint.Address.ToString())
            .Where(a => a != update.SelfAddress)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal));
        return update;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        channel.Attached += OnAttached;
        try
        {
            if (channel.Facts is not null)
            {
                // Attached before this service subscribed.
                await PushAsync(stoppingToken);
            }

            await foreach (var _ in membership.MembershipUpdates.WithCancellation(stoppingToken))
            {
                if (channel.Facts is not null)
                {
                    await PushAsync(stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            channel.Attached -= OnAttached;
        }
    }

    private void OnAttached() => _ = PushAsync(CancellationToken.None);

    private async Task PushAsync(CancellationToken ct)
    {
        await _pushing.WaitAsync(ct);
        try
        {
            await channel.PushPeersAsync(Current(), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            // The next attach pushes the list again; a hostd that stays attached gets the next change.
            logger.LogWarning("Could not hand the cluster's node list to hostd on node {Node}: {Error}", channel.Node, e.Message);
        }
        finally
        {
            _pushing.Release();
        }
    }

    public override void Dispose()
    {
        _pushing.Dispose();
        base.Dispose();
    }
}
