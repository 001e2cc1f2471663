using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace Nefele.Supervision;

/// <summary>
/// Keeps durable supervisors supervising when a silo is lost. A supervisor stays active where it runs,
/// so only a silo's death (or a cluster restart) leaves one inactive; then nothing would call it
/// again. Each silo wakes every supervisor through the directory when it sees a silo declared dead in
/// the cluster membership, when it joins, and every <see cref="SupervisorOptions.SweepInterval"/>;
/// a supervisor that was on the lost silo activates on a live one from its stored state.
/// </summary>
public sealed class SupervisorKeeper(
    IClusterMembershipService membership,
    IGrainFactory grains,
    IOptions<SupervisorOptions> options,
    ILogger<SupervisorKeeper> logger) : BackgroundService
{
    private readonly HashSet<SiloAddress> _dead = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var wake = new SemaphoreSlim(0, 1);
        var follow = FollowAsync(wake, stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Woken by a lost silo (or the first membership update, once this silo takes calls), else by the sweep.
                await wake.WaitAsync(options.Value.SweepInterval, stoppingToken);
                try
                {
                    await grains.GetGrain<ISupervisorDirectoryGrain>(ISupervisorDirectoryGrain.AllKey).WakeAsync().WaitAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogDebug(e, "Waking supervisors failed; trying again at the next lost silo or sweep");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await follow;
    }

    private async Task FollowAsync(SemaphoreSlim wake, CancellationToken ct)
    {
        var first = true;
        try
        {
            await foreach (var snapshot in membership.MembershipUpdates.WithCancellation(ct))
            {
                var dead = snapshot.Members.Values.Where(m => m.Status == SiloStatus.Dead && _dead.Add(m.SiloAddress)).ToList();
                if (dead.Count > 0 || first)
                {
                    logger.LogDebug("Waking supervisors: {Dead} silo(s) newly dead", dead.Count);
                    first = false;
                    if (wake.CurrentCount == 0)
                    {
                        wake.Release();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }
}
