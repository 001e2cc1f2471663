using Nefele.Auth;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;
using Orleans.Concurrency;

namespace Nefele.Nodes;

/// <summary>
/// One node, keyed by node name, activated on that node's own silo: its capacity and
/// reservations, its self-score, and the channel to its hostd.
/// </summary>
public interface INodeGrain : IGrainWithStringKey
{
    [Access(Role.Viewer, TenantFrom.Cluster)]
    Task<NodeCapacity> GetCapacityAsync();

    /// <summary>How many of <paramref name="asks"/> would fit here now, and how good a home this is.</summary>
    Task<NodeOffer> OfferAsync(IReadOnlyList<ResourceAsk> asks);

    /// <summary>
    /// Holds resources for the given NPIDs until committed or the lease runs out.
    /// All or nothing; false when they no longer fit.
    /// </summary>
    Task<bool> ReserveAsync(IReadOnlyList<(string Npid, ResourceAsk Ask)> tasks, TimeSpan lease);

    /// <summary>
    /// Offer and reservation in one call, for a request whose only candidate is this node: when
    /// every task fits, all are reserved as by <see cref="ReserveAsync"/> and Reserved is true;
    /// otherwise nothing is held and the offer says what fits and what is short.
    /// </summary>
    Task<(NodeOffer Offer, bool Reserved)> OfferAndReserveAsync(IReadOnlyList<(string Npid, ResourceAsk Ask)> tasks, TimeSpan lease);

    /// <summary>Makes the reservation for <paramref name="npid"/> permanent (the process is being launched).</summary>
    Task CommitAsync(string npid);

    /// <summary>Frees what <paramref name="npid"/> held (it ended, or its request was abandoned).</summary>
    Task ReleaseAsync(string npid);

    /// <summary>
    /// After hostd (re)attached: the processes this node believed Running that hostd neither
    /// runs nor has an exit for (a hostd that restarted lost them). They are forgotten here
    /// and returned, so the caller can end them as Lost.
    /// </summary>
    Task<IReadOnlyList<string>> ForgetUnreportedAsync(IReadOnlyCollection<string> reported);

    /// <summary>Counts a process hostd already runs (reported after a silo restart), whether it fits or not.</summary>
    Task TrackAsync(string npid, ResourceAsk ask);

    [AlwaysInterleave]
    Task<LaunchOutcome> LaunchAsync(string npid, string tenant, ProcessSpec spec, Tenants.RunAs runAs);

    [AlwaysInterleave]
    Task SignalAsync(string npid, int signal);

    /// <summary>
    /// Types <paramref name="data"/> into a tty process's terminal and, when <paramref name="rows"/> and
    /// <paramref name="columns"/> are non-zero, sets its window size first (attach).
    /// </summary>
    [AlwaysInterleave]
    Task TerminalInputAsync(string npid, byte[] data, int rows, int columns);

    [AlwaysInterleave]
    Task<LogChunk> ReadLogsAsync(string npid, long offset, int maxBytes, TimeSpan wait, LogStream stream = LogStream.All);

    /// <summary>The process's output as records, each marked with <paramref name="npid"/>, <paramref name="name"/> and this node.</summary>
    [AlwaysInterleave]
    Task<LogRecordChunk> ReadLogRecordsAsync(string npid, string? name, LogRecordRead read);

    [AlwaysInterleave]
    Task<IReadOnlyDictionary<string, (long CpuNs, long MemoryBytes)>> GetUsageAsync();

    /// <summary>
    /// Packs the development overlay of <paramref name="tenant"/>'s container of <paramref name="image"/>
    /// (pinned) on this node into the image store's upload <paramref name="upload"/>; answers the layer
    /// hostd wrote (its digest as hostd computed it). not_development_mode, overlay_not_found otherwise.
    /// </summary>
    [AlwaysInterleave]
    Task<UploadedLayer> PackOverlayAsync(string tenant, string image, string upload);

    /// <summary>Makes this grain the hollow node <paramref name="node"/> declares (key hollow-&lt;n&gt;); starts empty.</summary>
    Task DeclareHollowAsync(HollowNode node);

    /// <summary>Ends this hollow node; returns the NPIDs it was running, which the caller marks Lost.</summary>
    Task<IReadOnlyList<string>> RemoveHollowAsync();

    /// <summary>
    /// From the tenant's name service: its tables changed. Kept here (for hostd's next attach) and
    /// handed to hostd; an older version than the one kept is ignored.
    /// </summary>
    [AlwaysInterleave]
    Task ApplyNamesAsync(Naming.NameTable table);

    /// <summary>
    /// After hostd (re)attached: hands it again every table kept here, and fetches the tables of
    /// <paramref name="tenants"/> (tenants hostd runs processes of) not kept yet.
    /// </summary>
    [AlwaysInterleave]
    Task RepushNamesAsync(IReadOnlyCollection<string> tenants);

    /// <summary>Activates the node's agent (its load refresh and directory registration start with it).</summary>
    Task PingAsync();
}
