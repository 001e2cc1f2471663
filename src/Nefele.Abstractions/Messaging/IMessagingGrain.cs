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

    /// <summary>
    /// Opens <paramref name="address"/> again on the silo the caller reached: the mailbox as it is
    /// when it still lives, or anew and empty under the same address when its node died. Another
    /// tenant's address answers npid_not_found.
    /// </summary>
    [Access(Role.Member, TenantFrom.GrainKey)]
    Task<MailboxInfo> ReopenMailboxAsync(string address);
}
