namespace Nefele.Observability;

/// <summary>
/// Every metric instrument Nefele defines, in one place (the README's Observability section lists
/// them with their kinds and attributes). Attribute keys are <see cref="Attributes"/>.
/// </summary>
public static class Instruments
{
    /// <summary>Bucket bounds, in seconds, of the latency histograms: half a millisecond to ten seconds.</summary>
    public static readonly IReadOnlyList<double> LatencyBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Histogram: from a spawn request's admission until every task is Running (or refused).</summary>
    public static readonly InstrumentDefinition SpawnDuration = new(
        "nefele.process.spawn.duration", "s", "Time from a spawn request's admission until every task is Running");

    /// <summary>Histogram: offers, ranking and reservation of the nodes for one request.</summary>
    public static readonly InstrumentDefinition PlacementDuration = new(
        "nefele.placement.decision.duration", "s", "Time to choose and reserve nodes for a spawn request");

    /// <summary>Counter: spawn requests admitted (the tenant exists and the request fits its quotas).</summary>
    public static readonly InstrumentDefinition Admissions = new(
        "nefele.placement.admissions", "{request}", "Spawn requests admitted by their tenant's quotas");

    /// <summary>Counter: spawn requests refused, by <see cref="Attributes.Reason"/> (the error code).</summary>
    public static readonly InstrumentDefinition Rejections = new(
        "nefele.placement.rejections", "{request}", "Spawn requests refused, by reason");

    /// <summary>Counter: processes that reached Running, by <see cref="Attributes.Tenant"/> and <see cref="Attributes.Node"/>.</summary>
    public static readonly InstrumentDefinition ProcessStarts = new(
        "nefele.process.starts", "{process}", "Processes that reached Running");

    /// <summary>Counter: processes that ended, by <see cref="Attributes.ProcessEnd"/>, tenant and node.</summary>
    public static readonly InstrumentDefinition ProcessEnds = new(
        "nefele.process.ends", "{process}", "Processes that ended, by how: exited, crashed, failed_to_start, lost");

    /// <summary>Counter: records removed past retention, by <see cref="Attributes.Record"/>.</summary>
    public static readonly InstrumentDefinition RetentionCollected = new(
        "nefele.retention.collected", "{record}", "Ended processes and spawn requests removed past retention");

    /// <summary>Counter: message parts a router queued toward another node or an external mailbox.</summary>
    public static readonly InstrumentDefinition MessagesRouted = new(
        "nefele.messaging.routed", "{message}", "Messages a router queued toward another node or an external mailbox");

    /// <summary>Counter, in the silo and in hostd: messages that did not reach a mailbox, by <see cref="Attributes.Reason"/>.</summary>
    public static readonly InstrumentDefinition MessagesDropped = new(
        "nefele.messaging.dropped", "{message}", "Messages that did not reach a mailbox or were dropped with it, by reason");

    /// <summary>Counter, hostd: processes hostd launched (they reached Running on this node).</summary>
    public static readonly InstrumentDefinition HostdLaunches = new(
        "nefele.hostd.launches", "{process}", "Processes this node's hostd launched");

    /// <summary>Counter, hostd: processes that exited after Running on this node.</summary>
    public static readonly InstrumentDefinition HostdExits = new(
        "nefele.hostd.exits", "{process}", "Processes that exited after Running on this node");

    /// <summary>
    /// Counter, hostd: process output records a log export dropped, by <see cref="Attributes.Exporter"/>:
    /// its queue was full (the store is slower than the output) or, for the JSON-lines file, it could not be written.
    /// </summary>
    public static readonly InstrumentDefinition HostdLogExportDropped = new(
        "nefele.hostd.log_export.dropped", "{record}", "Process output records a log export dropped, by exporter");

    /// <summary>Gauge: Nefele processes a node runs or holds resources for, by <see cref="Attributes.Node"/>.</summary>
    public static readonly InstrumentDefinition NodeProcesses = new(
        "nefele.node.processes", "{process}", "Nefele processes this node runs or holds resources for");

    /// <summary>Gauge: CPU reserved on a node by its processes.</summary>
    public static readonly InstrumentDefinition NodeCpuReserved = new(
        "nefele.node.cpu.reserved", "{cpu}", "CPU reserved on this node by its processes, in cores");

    /// <summary>Gauge: memory reserved on a node by its processes.</summary>
    public static readonly InstrumentDefinition NodeMemoryReserved = new(
        "nefele.node.memory.reserved", "By", "Memory reserved on this node by its processes");

    /// <summary>Gauge: CPU a node has for processes (its cores less the reserve).</summary>
    public static readonly InstrumentDefinition NodeCpuAllocatable = new(
        "nefele.node.cpu.allocatable", "{cpu}", "CPU this node offers to processes, in cores");

    /// <summary>Gauge: memory a node has for processes (its memory less the reserve).</summary>
    public static readonly InstrumentDefinition NodeMemoryAllocatable = new(
        "nefele.node.memory.allocatable", "By", "Memory this node offers to processes");

    /// <summary>Gauge: a node's measured CPU load, 0 to 1 of its cores.</summary>
    public static readonly InstrumentDefinition NodeCpuLoad = new(
        "nefele.node.cpu.load", "1", "This node's measured CPU load, as a fraction of its cores");

    /// <summary>Gauge: memory in use on a node, as hostd last measured it.</summary>
    public static readonly InstrumentDefinition NodeMemoryUsed = new(
        "nefele.node.memory.used", "By", "Memory in use on this node, as hostd last measured it");

    /// <summary>Gauge: 1 while a node's hostd is attached to its silo, else 0.</summary>
    public static readonly InstrumentDefinition HostdAttached = new(
        "nefele.node.hostd.attached", "1", "1 while this node's hostd is attached to its silo, else 0");

    /// <summary>The attribute keys of Nefele's instruments and spans.</summary>
    public static class Attributes
    {
        /// <summary>The node's name.</summary>
        public const string Node = "nefele.node";

        /// <summary>The tenant's name.</summary>
        public const string Tenant = "nefele.tenant";

        /// <summary>Why something was refused or dropped: an error code of <c>ErrorCodes</c>.</summary>
        public const string Reason = "nefele.reason";

        /// <summary>How a process ended: exited, crashed, failed_to_start, lost.</summary>
        public const string ProcessEnd = "nefele.process.end";

        /// <summary>Which record retention removed: process or request.</summary>
        public const string Record = "nefele.record";

        /// <summary>Which log export dropped output records: otlp or jsonl.</summary>
        public const string Exporter = "nefele.exporter";
    }
}
