using System.Diagnostics;
using System.Text;
using Nefele.Nodes;
using Nefele.Silo.Hostd;

namespace Nefele.Silo.Telemetry;

/// <summary>
/// <c>GET /metrics</c>: the Prometheus scrape of this silo — the "Nefele.*" meters' instruments,
/// this node's process count and hostd attachment, and the silo process's own CPU, memory,
/// file descriptors, GC and thread pool.
/// </summary>
internal static class MetricsEndpoint
{
    /// <summary>How long a scrape waits for this node's grain before leaving its gauges out.</summary>
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);

    private static readonly double StartTimeSeconds = ProcessStartTime();

    public static IEndpointConventionBuilder MapPrometheusMetrics(this IEndpointRouteBuilder app) =>
        app.MapGet("/metrics", async (PrometheusMetrics metrics, HostAgentChannel channel, IGrainFactory grains, ILoggerFactory loggers) =>
        {
            var text = new StringBuilder(8192);
            metrics.WriteTo(text);
            await WriteNodeAsync(text, channel, grains, loggers);
            WriteProcess(text);
            return Results.Text(text.ToString(), PrometheusText.ContentType);
        })
        .WithTags("telemetry")
        .WithSummary("Prometheus scrape: Nefele's meters, this node's processes, and the silo process (text format 0.0.4)")
        .Produces<string>(StatusCodes.Status200OK, "text/plain");

    private static async Task WriteNodeAsync(StringBuilder text, HostAgentChannel channel, IGrainFactory grains, ILoggerFactory loggers)
    {
        var node = new StringBuilder("node=\"");
        PrometheusText.AppendLabelValue(node, channel.Node);
        var labels = node.Append('"').ToString();

        Gauge(text, "nefele_node_hostd_attached", "1 while this node's hostd is attached to the silo, else 0", labels, channel.Facts is null ? 0 : 1);

        NodeCapacity capacity;
        try
        {
            capacity = await grains.GetGrain<INodeGrain>(channel.Node).GetCapacityAsync().WaitAsync(NodeTimeout);
        }
        catch (Exception e)
        {
            loggers.CreateLogger(typeof(MetricsEndpoint)).LogDebug(e, "Node {Node}'s gauges are left out of this scrape", channel.Node);
            return;
        }

        Gauge(text, "nefele_node_processes", "Nefele processes this node runs or holds resources for", labels, capacity.Processes);
        Gauge(text, "nefele_node_cpu_reserved_millis", "CPU reserved on this node by its processes, in millicores", labels, capacity.ReservedCpuMillis);
        Gauge(text, "nefele_node_memory_reserved_bytes", "Memory reserved on this node by its processes", labels, capacity.ReservedMemoryBytes);
    }

    private static void WriteProcess(StringBuilder text)
    {
        Sample(text, "process_cpu_seconds_total", "Total user and system CPU time spent in seconds", PrometheusType.Counter, "", Environment.CpuUsage.TotalTime.TotalSeconds);
        Gauge(text, "process_resident_memory_bytes", "Resident memory size in bytes", "", Environment.WorkingSet);
        Gauge(text, "process_start_time_seconds", "Start time of the process since unix epoch in seconds", "", StartTimeSeconds);
        if (OpenFileDescriptors() is { } fds)
        {
            Gauge(text, "process_open_fds", "Number of open file descriptors", "", fds);
        }

        Gauge(text, "dotnet_gc_heap_bytes", "Bytes currently thought to be allocated on the managed heap", "", GC.GetTotalMemory(forceFullCollection: false));

        // What survives: the heap right after the last full collection, free of the allocation sawtooth.
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        var full = background.Index > blocking.Index ? background : blocking;
        if (full.Index > 0)
        {
            Gauge(text, "dotnet_gc_heap_after_full_gc_bytes", "Managed heap size right after the last full (generation 2) collection", "", full.HeapSizeBytes);
        }
        PrometheusText.AppendHeader(text, "dotnet_gc_collections_total", "Garbage collections since the process started, by generation", PrometheusType.Counter);
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            PrometheusText.AppendSample(text, "dotnet_gc_collections_total", $"generation=\"{generation}\"", PrometheusText.Number(GC.CollectionCount(generation)));
        }

        Gauge(text, "dotnet_threadpool_threads", "Thread pool threads", "", ThreadPool.ThreadCount);
        Gauge(text, "dotnet_threadpool_queue_length", "Work items queued to the thread pool", "", ThreadPool.PendingWorkItemCount);
    }

    private static void Gauge(StringBuilder text, string name, string help, string labels, double value) =>
        Sample(text, name, help, PrometheusType.Gauge, labels, value);

    private static void Sample(StringBuilder text, string name, string help, PrometheusType type, string labels, double value)
    {
        PrometheusText.AppendHeader(text, name, help, type);
        PrometheusText.AppendSample(text, name, labels, PrometheusText.Number(value));
    }

    private static int? OpenFileDescriptors()
    {
        try
        {
            return OperatingSystem.IsLinux() ? Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static double ProcessStartTime()
    {
        using var self = Process.GetCurrentProcess();
        return (self.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
    }
}
