using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Naming;

/// <summary>
/// One tenant's named services, keyed by the tenant name: its names and numeric service ids
/// ("#80"; several holders form a group, kept in registration order), its topics and their
/// subscribers, and the nodes that hold a copy of these tables. Every change is pushed to those
/// nodes before it returns. A name dies with its holder: the process grain's end (exit, failed
/// start, node loss) and an external mailbox's drop call <see cref="DropHolderAsync"/>.
/// A holder is a live process of the tenant or an open external mailbox of the tenant; another tenant's
/// NPID is answered as one that does not exist.
/// </summary>
public interface INameServiceGrain : IGrainWithStringKey
{
    /// <summary>
    /// Adds <paramref name="npid"/> to the holders of <paramref name="name"/> (again: no change) and
    /// answers the holders after it. bad_request for a bad name, npid_not_found / not_running for a
    /// holder that is not a live process of the tenant, limit_exceeded past Limits.MaxNamesPerTenant
    /// or Limits.MaxNamesPerProcess.
    /// </summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task<IReadOnlyList<string>> RegisterAsync(string name, string npid, CancellationToken ct = default);

    /// <summary>Removes <paramref name="npid"/> from the holders of <paramref name="name"/>; name_not_found when it holds no such name.</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task UnregisterAsync(string name, string npid, CancellationToken ct = default);

    /// <summary>
    /// The entry of <paramref name="name"/> once it has a holder, waiting up to
    /// <paramref name="timeout"/> (at most Limits.MaxMessagingWait) for one. No holder and no wait:
    /// name_not_found; no holder within the wait: timed_out.
    /// </summary>
    [Access(Role.Viewer, TenantFrom.GrainKey)]
    Task<NameEntry> WaitAsync(string name, TimeSpan timeout, CancellationToken ct = default);

    /// <summary>The names (or, with <paramref name="topics"/>, the topics) starting with <paramref name="prefix"/>, sorted.</summary>
    [Access(Role.Viewer, TenantFrom.GrainKey)]
    Task<IReadOnlyList<NameEntry>> ListAsync(string? prefix, bool topics, CancellationToken ct = default);

    /// <summary>Adds <paramref name="npid"/> to the subscribers of <paramref name="topic"/> (again: no change); rules as <see cref="RegisterAsync"/>.</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task SubscribeAsync(string topic, string npid, CancellationToken ct = default);

    /// <summary>Removes a subscriber; name_not_found when it is not subscribed.</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task UnsubscribeAsync(string topic, string npid, CancellationToken ct = default);

    /// <summary>The holders of <paramref name="name"/> (subscribers of it, with <paramref name="topic"/>), in registration order; empty when none.</summary>
    Task<IReadOnlyList<NameHolder>> HoldersAsync(string name, bool topic);

    /// <summary>
    /// From a node about to launch its first process of the tenant: the node gets every change from
    /// now on, and the tables as they are now.
    /// </summary>
    Task<NameTable> AttachNodeAsync(string node);

    /// <summary>The holder ended (its process, or its external mailbox): it leaves every name and topic.</summary>
    Task DropHolderAsync(string npid);

    /// <summary>The node is lost: its processes leave every name and topic, and it gets no more pushes. Answers the tables after.</summary>
    Task<NameTable> DropNodeAsync(string node);
}
