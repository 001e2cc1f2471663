using Nefele.Client;
using Orleans.Concurrency;
using Orleans.Runtime.Placement;

namespace Nefele.Messaging;

/// <summary>
/// The SDK's and REST's door into messaging: checks a send with the shared rules and hands it to
/// the router of the silo the caller reached (a stateless worker lives there), the same router
/// hostd's sends enter.
/// </summary>
[StatelessWorker]
public sealed class MessagingGrain(MessageRouter router, ILocalSiloDetails silo, TimeProvider time) : Grain, IMessagingGrain
{
    private string Tenant => this.GetPrimaryKeyString();

    public Task<int> SendAsync(SendCommand send, CancellationToken ct)
    {
        send.Validate();
        return router.RouteAsync(new RouteRequest
        {
            Tenant = Tenant,
            From = send.From,
            To = send.Mode == DeliveryMode.Broadcast ? "*" : send.To,
            Tag = send.Tag,
            Data = send.Data,
            SentUnixMs = time.GetUtcNow().ToUnixTimeMilliseconds(),
            Mode = send.Mode,
            Ack = send.Ack,
            WaitMs = (int)send.Wait.TotalMilliseconds,
        }).WaitAsync(ct);
    }

    public Task<MailboxInfo> OpenMailboxAsync() => OpenHereAsync(MailboxAddress.NewRandom());

    public Task<MailboxInfo> ReopenMailboxAsync(string address)
    {
        if (!MailboxAddress.IsExternal(address))
        {
            throw NefeleException.Bad($"'{Validation.Names.Shorten(address)}' is not a mailbox address");
        }

        return OpenHereAsync(address);
    }

    /// <summary>
    /// Opens the mailbox naming this silo, which is the one the caller reached (a stateless worker
    /// lives there): a new mailbox is placed here, one living elsewhere moves here (MailboxGrain).
    /// </summary>
    private async Task<MailboxInfo> OpenHereAsync(string address)
    {
        RequestContext.Set(IPlacementDirector.PlacementHintKey, silo.SiloAddress);
        try
        {
            return await GrainFactory.GetGrain<IMailboxGrain>(address).OpenAsync(Tenant);
        }
        finally
        {
            RequestContext.Remove(IPlacementDirector.PlacementHintKey);
        }
    }
}
