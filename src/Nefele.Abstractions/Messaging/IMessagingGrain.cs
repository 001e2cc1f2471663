using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Messaging;

/// <summary>
/// A tenant's door into messaging for callers outside the nodes' processes (the SDK, REST), keyed
/// by tenant name: a stateless worker on the silo the caller reached, which hands sends to that
/// silo's router (the same one hostd's sends enter).
/// </summary>
public interface IMessagingGrain : IGrainWithStringKey
{
    /// <summary>Sends; answers the number of mailboxes reached (ack) or routed to.</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task<int> SendAsync(SendCommand send, CancellationToken ct = default);

    /// <summary>Makes a new external mailbox of the tenant and answers it.</summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task<MailboxInfo> OpenMailboxAsync();
}
