using System.Diagnostics.Metrics;
using Nefele.Nodes;
using Nefele.Observability;
using Nefele.Silo.Hostd;

namespace Nefele.Silo.Telemetry;

/// <summary>
/// This node's gauges (meter "Nefele.Silo"): hostd's attachment, and the node grain's processes,
/// reservations, allocatable resources and measured load. Each gauge asks the node grain, which lives
/// on this silo, so a scrape reads the node as it is; a node grain that does not answer in time
/// leaves its gauges out of that collection.
/// </summary>
internal sealed class NodeGauges : IHostedService, IDisposable
{
    public const string MeterName = "Nefele.Silo";

    /// <summary>How long a collection waits for this node's grain before leaving its gauges out.</summary>
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);

    private readonly Meter _meter = new(MeterName);
    private readonly HostAgentChannel _channel;
    private readonly IGrainFactory _grains;
    private readonly ILogger<NodeGauges> _logger;
    private readonly KeyValuePair<string, object?> _node;

    public NodeGauges(HostAgentChannel channel, IGrainFactory grains, ILogger<NodeGauges> logger)
    {
        (_channel, _grains, _logger) = (channel, grains, logger);
        _node = new(Instruments.Attributes.Node, channel.Node);
        Instruments.HostdAttached.Gauge(_meter, () => [new(_channel.Facts is null ? 0 : 1, _node)]);
        Instruments.NodeProcesses.Gauge(_meter, () => Observe(c => c.Processes));
        Instruments.NodeCpuReserved.Gauge(_meter, () => Observe(c => c.ReservedCpuMillis / 1000.0));
        Instruments.NodeMemoryReserved.Gauge(_meter, () => Observe(c => c.ReservedMemoryBytes));
        Instruments.NodeCpuAllocatable.Gauge(_meter, () => Observe(c => c.CpuMillis / 1000.0));
        Instruments.NodeMemoryAllocatable.Gauge(_meter, () => Observe(c => c.MemoryBytes));
        Instruments.NodeCpuLoad.Gauge(_meter, () => Observe(c => c.CpuLoad));
        Instruments.NodeMemoryUsed.Gauge(_meter, () => Observe(c => c.MemoryUsedBytes));
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<double>> Observe(Func<NodeCapacity, double> value) =>
        Capacity() is { } capacity ? [new(value(capacity), _node)] : [];

    private NodeCapacity? Capacity()
    {
        try
        {
            // Observable instruments are read synchronously; a collection runs off the grain scheduler.
            return _grains.GetGrain<INodeGrain>(_channel.Node).GetCapacityAsync().WaitAsync(NodeTimeout).GetAwaiter().GetResult();
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Node {Node}'s gauges are left out of this collection", _channel.Node);
            return null;
        }
    }
}
