using Nefele.Client;
using Orleans.Concurrency;

namespace Nefele.Messaging;

/// <summary>
/// The SDK's and REST's door into messaging: checks a send with the shared rules and hands it to
/// the router of the silo the caller reached (a stateless worker lives there), the same router
/// hostd's sends enter.
/// </summary>
[StatelessWorker]
public sealed class MessagingGrain(MessageRouter router, TimeProvider time) : Grain, IMessagingGrain
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

    // Through this stateless worker, which lives on the silo the caller reached, so the mailbox
    // (preferring local placement) lives there too: on the SDK program's gateway.
    public Task<MailboxInfo> OpenMailboxAsync() =>
        GrainFactory.GetGrain<IMailboxGrain>(MailboxAddress.NewRandom()).OpenAsync(Tenant);

    public Task<MailboxInfo> ReopenMailboxAsync(string address)
    {
        if (!MailboxAddress.IsExternal(address))
        {
            throw NefeleException.Bad($"'{Validation.Names.Shorten(address)}' is not a mailbox address");
        }

        return GrainFactory.GetGrain<IMailboxGrain>(address).OpenAsync(Tenant);
    }
}
