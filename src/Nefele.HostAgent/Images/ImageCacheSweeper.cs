using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Nefele.HostAgent.Containers;

namespace Nefele.HostAgent.Images;

/// <summary>
/// Every <see cref="HostAgentOptions.ImageCacheSweep"/>, evicts from the node's image cache the
/// unpacked layers nothing uses or references any more (<see cref="ImageCache.Evict"/>); running
/// containers' roots count as used. A sweep that fails is logged and the next one tries again.
/// </summary>
public sealed class ImageCacheSweeper(ImageCache cache, ContainerManager containers, HostAgentOptions options, ILogger<ImageCacheSweeper> logger) : BackgroundService
{
    /// <summary>One sweep now: the layers it removed.</summary>
    public IReadOnlyList<string> Sweep() =>
        cache.Evict(containers.Running.Select(c => c.ImageRoot).ToHashSet(StringComparer.Ordinal));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.ImageCacheSweep <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.ImageCacheSweep);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    Sweep();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    logger.LogWarning("Image cache sweep of {Cache} failed: {Error}", options.ImageCache, e.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
