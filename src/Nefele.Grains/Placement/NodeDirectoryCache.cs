using Microsoft.Extensions.Options;
using Nefele.Nodes;

namespace Nefele.Placement;

/// <summary>
/// This silo's copy of the node directory, indexed, refreshed at most every
/// <see cref="PlacementOptions.DirectoryCacheTtl"/>: admission asks the directory grain once
/// per period, not once per request. A change made through this silo's directory grain
/// invalidates it at once.
/// </summary>
public sealed class NodeDirectoryCache(IGrainFactory grains, IOptions<PlacementOptions> options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private Task<NodeIndex>? _loading;
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
            if (_index is not null && time.GetElapsedTime(_loadedAt) < options.Value.DirectoryCacheTtl)
            {
                return Task.FromResult(_index);
            }

            return _loading ??= LoadAsync();
        }
    }

    private async Task<NodeIndex> LoadAsync()
    {
        try
        {
            var started = time.GetTimestamp();
            long generation;
            lock (_lock)
            {
                generation = _generation;
            }

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
                _loading = null;
            }
        }
    }
}
