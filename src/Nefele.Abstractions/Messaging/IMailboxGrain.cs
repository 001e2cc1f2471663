using Nefele.Auth;
using Nefele.Client;
using Orleans.Concurrency;

namespace Nefele.Messaging;

/// <summary>
/// The mailbox of a program outside the cluster (an SDK program, a REST caller), keyed by its
/// address (<see cref="MailboxAddress"/>). In memory, bounded as a process mailbox, dropped (with
/// its queued messages counted) after an idle time without receives. A call from another tenant
/// is answered as if the address did not exist.
/// </summary>
public interface IMailboxGrain : IGrainWithStringKey
{
    /// <summary>Makes the mailbox for <paramref name="tenant"/> (or finds it, when it is that tenant's) and keeps it from idling out.</summary>
    [Access(Role.Member, TenantFrom.ArgumentHidingNpid)]
    Task<MailboxInfo> OpenAsync(string tenant);

    /// <summary>
    /// Takes the oldest message (with <paramref name="tag"/>, when given), waiting up to
    /// <paramref name="timeout"/> (at most Limits.MaxMessagingWait) for one; null when none came.
    /// </summary>
    [AlwaysInterleave, Access(Role.Member, TenantFrom.ArgumentHidingNpid)]
    Task<ReceivedMessage?> ReceiveAsync(string tenant, TimeSpan timeout, string? tag, CancellationToken ct = default);

    /// <summary>Drops the mailbox now (its queued messages are counted as dropped). Idempotent.</summary>
    [Access(Role.Member, TenantFrom.ArgumentHidingNpid)]
    Task CloseAsync(string tenant);

    /// <summary>From the name service: whether this is an open mailbox of <paramref name="tenant"/>, so it may hold names.</summary>
    [AlwaysInterleave]
    Task<bool> IsOpenAsync(string tenant);

    /// <summary>From a router: puts each item in this mailbox in order; one result per item.</summary>
    [AlwaysInterleave]
    Task<IReadOnlyList<DeliveryResult>> DeliverAsync(IReadOnlyList<MailItem> batch);
}
