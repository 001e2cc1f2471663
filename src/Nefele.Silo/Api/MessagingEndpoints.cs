using Nefele.Auth;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Messaging;
using Nefele.Silo.Auth;
using Nefele.Validation;

namespace Nefele.Silo.Api;

/// <summary>
/// Messaging for REST callers: send, and the caller's own mailbox (one per API key and tenant,
/// its address the same on every node and across calls, so processes can answer to it).
/// </summary>
internal static class MessagingEndpoints
{
    public static void MapMessagingEndpoints(this IEndpointRouteBuilder app)
    {
        var tenants = app.MapGroup("/v1/tenants/{tenant}").WithTags("messaging");

        tenants.MapPost("/messages", async (string tenant, SendBody body, IGrainFactory grains, HttpContext http) =>
        {
            var send = new SendCommand
            {
                From = await OpenOwnAsync(grains, tenant, http),
                To = body.To,
                Tag = body.Tag ?? string.Empty,
                Data = body.Data,
                Mode = ParseMode(body.Mode),
                Ack = body.Ack ?? false,
                Wait = TimeSpan.FromMilliseconds(body.WaitMs ?? 0),
            };
            send.Validate();
            return Results.Ok(new SendResult(await grains.GetGrain<IMessagingGrain>(tenant).SendAsync(send, http.RequestAborted)));
        }).RequireAuthorization(Policies.TenantMember)
            .Produces<SendResult>()
            .WithDescription("Sends one message from the caller's mailbox (GET /mailbox), so the receiver can answer to it. Order is FIFO per sender and receiver; delivery is at-most-once unless ack is set, which answers only once the message is in every target mailbox (or fails naming why: mailbox_full, not_running, node_unavailable).")
            .Operation("sendMessage", "Send a message to an NPID, a mailbox address, a name or '#id' (any, failover, all), the whole tenant (broadcast) or a topic (publish)",
                [.. ApiDocs.Body, 403, 404, 409, 503]);

        tenants.MapGet("/mailbox", async (string tenant, IGrainFactory grains, HttpContext http) =>
        {
            var address = MailboxAddress.ForKey(Valid(tenant), Caller(http).KeyName);
            return Results.Ok(await grains.GetGrain<IMailboxGrain>(address).OpenAsync(tenant));
        }).RequireAuthorization(Policies.TenantMember)
            .Produces<MailboxInfo>()
            .WithDescription("The caller's mailbox: one per API key in the tenant, its address stable for that key. It is opened by this call or any send or receive, and dropped with what is queued after Messaging:MailboxIdleTimeout (5 min) without one.")
            .Operation("getMailbox", "The caller's own mailbox: its address and how many messages wait in it", 400, 403);

        tenants.MapGet("/mailbox/messages", async (string tenant, string? timeout, string? tag, IGrainFactory grains, HttpContext http) =>
        {
            var wait = ParseTimeout(timeout);
            if (!string.IsNullOrEmpty(tag))
            {
                Names.ValidateMessageTag(tag);
            }

            var address = await OpenOwnAsync(grains, tenant, http);
            var received = await grains.GetGrain<IMailboxGrain>(address).ReceiveAsync(tenant, wait, string.IsNullOrEmpty(tag) ? null : tag, http.RequestAborted)
                ?? throw new NefeleException(ErrorCodes.TimedOut, $"no message came to mailbox {address} within {wait.TotalSeconds:0.###} s");
            var m = received.Message;
            return Results.Ok(new ReceivedBody(m.From, m.To, m.Tag, m.Data.ToArray(), m.Seq, m.SentAt.ToUnixTimeMilliseconds(), received.Remaining));
        }).RequireAuthorization(Policies.TenantMember)
            .Produces<ReceivedBody>()
            .WithDescription("Takes the oldest message from the caller's mailbox (the oldest with 'tag', when given), waiting up to 'timeout' (\"500ms\", \"10s\"; default 10s, at most 10s; 0 answers at once). Nothing in time: 408 timed_out.")
            .Operation("receiveMessage", "Receive one message from the caller's own mailbox (long poll)", 400, 403, 408);
    }

    private static Principal Caller(HttpContext http) => (Principal)http.Items[ApiKeyAuthenticationHandler.Items.Principal]!;

    private static string Valid(string tenant)
    {
        Names.ValidateTenantName(tenant);
        return tenant;
    }

    private static async Task<string> OpenOwnAsync(IGrainFactory grains, string tenant, HttpContext http)
    {
        var address = MailboxAddress.ForKey(Valid(tenant), Caller(http).KeyName);
        await grains.GetGrain<IMailboxGrain>(address).OpenAsync(tenant);
        return address;
    }

    private static DeliveryMode ParseMode(string? mode) => mode switch
    {
        null or "" => DeliveryMode.Default,
        "any" => DeliveryMode.Any,
        "failover" => DeliveryMode.Failover,
        "all" => DeliveryMode.All,
        "broadcast" => DeliveryMode.Broadcast,
        "publish" => DeliveryMode.Publish,
        _ => throw NefeleException.Bad($"mode '{Names.Shorten(mode)}' is unknown (allowed: any, failover, all, broadcast, publish)"),
    };

    private static TimeSpan ParseTimeout(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return Limits.MaxMessagingWait;
        }

        TimeSpan timeout;
        try
        {
            timeout = Units.ParseDuration(text);
        }
        catch (FormatException e)
        {
            throw NefeleException.Bad($"timeout: {e.Message}");
        }

        return timeout <= Limits.MaxMessagingWait
            ? timeout
            : throw NefeleException.Bad($"timeout {Names.Shorten(text)} is longer than {Limits.MaxMessagingWait.TotalSeconds:0} s (receive again for a longer wait)");
    }
}
