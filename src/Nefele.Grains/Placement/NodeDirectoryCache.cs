using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Nodes;

namespace Nefele.Placement;

/// <summary>
/// This silo's copy of the node directory, indexed, refreshed at most every
/// <see cref="PlacementOptions.DirectoryCacheTtl"/>: admission asks the directory grain once
/// per period, not once per request. A copy past its time is still served while the next one
/// loads in the background, so no request waits for a periodic refresh (with a thousand nodes
/// those waits were a share of placement's tail); a zero time-to-live loads on every call. A
/// change made through this silo's directory grain invalidates it at once, and the next request
/// waits for the new copy.
/// </summary>
public sealed class NodeDirectoryCache(IGrainFactory grains, IOptions<PlacementOptions> options, TimeProvider time, ILogger<NodeDirectoryCache> logger)
{
    private readonly Lock _lock = new();
    private Task<NodeIndex>? _loading;
    private long _loadingGeneration;
    private NodeIndex? _index;
    private long _loadedAt;
    private long _generation;

    public void Invalidate()
    {
        lock (_lock)
        {
            _index = null;
            _generation++;
        }
    }

    public Task<NodeIndex> GetAsync()
    {
        lock (_lock)
        {
            var ttl = options.Value.DirectoryCacheTtl;
            if (_index is null || ttl <= TimeSpan.Zero)
            {
                // A load begun before the last change may not hold it: one of its own then.
                return _loading is not null && _loadingGeneration == _generation ? _loading : StartLoad(background: false);
            }

            if (time.GetElapsedTime(_loadedAt) >= ttl && _loading is null)
            {
                StartLoad(background: true).ContinueWith(
                    t => logger.LogWarning(t.Exception, "Refreshing this silo's copy of the node directory failed; placement goes on with the copy it has"),
                    CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            }

            return Task.FromResult(_index);
        }
    }

    /// <summary>Under the lock. A background refresh runs off the asking grain's scheduler and without its caller's request context: it is the silo's own call, and outlives the request that noticed the age.</summary>
    private Task<NodeIndex> StartLoad(bool background)
    {
        var generation = _generation;
        _loadingGeneration = generation;
        if (!background)
        {
            return _loading = LoadAsync(generation);
        }

        using (ExecutionContext.SuppressFlow())
        {
            return _loading = Task.Run(() => LoadAsync(generation));
        }
    }

    private async Task<NodeIndex> LoadAsync(long generation)
    {
        try
        {
            var started = time.GetTimestamp();
            var index = new NodeIndex(await grains.Get<INodeDirectoryGrain>(INodeDirectoryGrain.Key).GetAsync());
            lock (_lock)
            {
                // A change made while this load was under way may not be in it: keep it for this caller only.
                if (generation == _generation)
                {
                    _index = index;
                    _loadedAt = started;
                }
            }

            return index;
        }
        finally
        {
            lock (_lock)
            {
                if (_loadingGeneration == generation)
                {
                    _loading = null;
                }
            }
        }
    }
}
