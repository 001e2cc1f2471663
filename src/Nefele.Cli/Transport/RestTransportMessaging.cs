using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Nefele.Cli.Json;
using Nefele.InProcess;
using Nefele.Protocol.V1;
using Message = Nefele.Protocol.V1.Message;
using NameEntry = Nefele.Protocol.V1.NameEntry;
using NameHolder = Nefele.Protocol.V1.NameHolder;
using DeliveryMode = Nefele.Protocol.V1.DeliveryMode;

namespace Nefele.Cli.Transport;

/// <summary>
/// The messaging routes of the REST API (/v1/tenants/{tenant}/messages, mailbox, names, topics). The caller's
/// mailbox is the API key's (GET mailbox gives its address), and it stands for "me" where a process would
/// name itself. One wait on the node lasts at most <see cref="WaitStep"/>; longer ones are several requests.
/// </summary>
internal sealed partial class RestTransport
{
    /// <summary>The node answers one wait within this bound (Limits.MaxMessagingWait).</summary>
    private static readonly TimeSpan WaitStep = Validation.Limits.MaxMessagingWait;

    private string? mailboxAddress;

    public async Task<int> SendAsync(string to, ReadOnlyMemory<byte> data, SendOptions options, CancellationToken ct)
    {
        var body = new SendMessageDto(to, string.IsNullOrEmpty(options.Tag) ? null : options.Tag, data.ToArray(), ModeName(options.Mode), options.Ack,
            (int)Math.Ceiling(options.Wait.TotalMilliseconds));
        var json = JsonSerializer.SerializeToUtf8Bytes(body, NefJsonContext.Default.SendMessageDto);

        // Not repeated once it may have been sent: at most once means never twice.
        using var response = await SendAsync(HttpMethod.Post, tenantPath + "messages", Repeatable.No, ct, () => Json(json)).ConfigureAwait(false);
        return (await ReadJsonAsync(response, NefJsonContext.Default.DeliveredDto, ct).ConfigureAwait(false)).Delivered;
    }

    public async Task<Message?> ReceiveAsync(TimeSpan timeout, string? tag, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            var left = timeout == Timeout.InfiniteTimeSpan ? WaitStep : timeout - time.GetElapsedTime(started);
            var step = left < TimeSpan.Zero ? TimeSpan.Zero : left < WaitStep ? left : WaitStep;
            var path = tenantPath + "mailbox/messages?timeout=" + Duration(step)
                + (string.IsNullOrEmpty(tag) ? string.Empty : "&tag=" + Uri.EscapeDataString(tag));
            try
            {
                // Not repeated: a receive that reached the node may have taken the message.
                using var response = await SendAsync(HttpMethod.Get, path, Repeatable.No, ct).ConfigureAwait(false);
                var m = await ReadJsonAsync(response, NefJsonContext.Default.MailboxMessageDto, ct).ConfigureAwait(false);
                return new Message
                {
                    From = m.From,
                    To = m.To,
                    Tag = m.Tag ?? string.Empty,
                    Data = ByteString.CopyFrom(m.Data ?? []),
                    Seq = m.Seq,
                    SentUnixMs = m.SentUnixMs,
                };
            }
            catch (NefeleApiException e) when (e.Code == "timed_out")
            {
                if (timeout != Timeout.InfiniteTimeSpan && time.GetElapsedTime(started) >= timeout)
                {
                    return null;
                }
            }
        }
    }

    public async Task<IReadOnlyList<string>> RegisterAsync(string name, string? npid, CancellationToken ct)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(new RegisterNameDto(npid), NefJsonContext.Default.RegisterNameDto);
        using var response = await SendAsync(HttpMethod.Put, NamePath(name), Repeatable.Yes, ct, () => Json(json)).ConfigureAwait(false);
        return (await ReadJsonAsync(response, NefJsonContext.Default.NpidListDto, ct).ConfigureAwait(false)).Npids;
    }

    public async Task UnregisterAsync(string name, string? npid, CancellationToken ct)
    {
        npid ??= await MailboxAddressAsync(ct).ConfigureAwait(false);
        using var response = await SendAsync(HttpMethod.Delete, NamePath(name) + "?npid=" + Uri.EscapeDataString(npid), Repeatable.No, ct).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<string>?> WaitForNameAsync(string name, TimeSpan timeout, CancellationToken ct)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            var left = timeout == Timeout.InfiniteTimeSpan ? WaitStep : timeout - time.GetElapsedTime(started);
            var step = left < TimeSpan.Zero ? TimeSpan.Zero : left < WaitStep ? left : WaitStep;
            try
            {
                using var response = await SendAsync(HttpMethod.Get, NamePath(name) + "?wait=" + Duration(step), Repeatable.Yes, ct).ConfigureAwait(false);
                var entry = await ReadJsonAsync(response, NefJsonContext.Default.NameEntryDto, ct).ConfigureAwait(false);
                return [.. (entry.Holders ?? []).Select(h => h.Npid)];
            }
            catch (NefeleApiException e) when (e.Code is "timed_out" or "name_not_found")
            {
                if (timeout != Timeout.InfiniteTimeSpan && time.GetElapsedTime(started) >= timeout)
                {
                    return null;
                }
            }
        }
    }

    public async Task<IReadOnlyList<NameEntry>> ListNamesAsync(string? prefix, bool topics, CancellationToken ct)
    {
        var path = tenantPath + (topics ? "topics" : "names") + (string.IsNullOrEmpty(prefix) ? string.Empty : "?prefix=" + Uri.EscapeDataString(prefix));
        using var response = await SendAsync(HttpMethod.Get, path, Repeatable.Yes, ct).ConfigureAwait(false);
        var list = await ReadJsonAsync(response, NefJsonContext.Default.NameListDto, ct).ConfigureAwait(false);
        return [.. (list.Names ?? list.Topics ?? []).Select(ToEntry)];
    }

    public async Task SubscribeAsync(string topic, string? npid, CancellationToken ct)
    {
        var path = await SubscriberPathAsync(topic, npid, ct).ConfigureAwait(false);
        using var response = await SendAsync(HttpMethod.Put, path, Repeatable.Yes, ct).ConfigureAwait(false);
    }

    public async Task UnsubscribeAsync(string topic, string? npid, CancellationToken ct)
    {
        var path = await SubscriberPathAsync(topic, npid, ct).ConfigureAwait(false);
        using var response = await SendAsync(HttpMethod.Delete, path, Repeatable.No, ct).ConfigureAwait(false);
    }

    /// <summary>The address of the API key's own mailbox (asked once per command).</summary>
    private async Task<string> MailboxAddressAsync(CancellationToken ct)
    {
        if (mailboxAddress is null)
        {
            using var response = await SendAsync(HttpMethod.Get, tenantPath + "mailbox", Repeatable.Yes, ct).ConfigureAwait(false);
            mailboxAddress = (await ReadJsonAsync(response, NefJsonContext.Default.MailboxDto, ct).ConfigureAwait(false)).Address;
        }

        return mailboxAddress;
    }

    private async Task<string> SubscriberPathAsync(string topic, string? npid, CancellationToken ct)
    {
        npid ??= await MailboxAddressAsync(ct).ConfigureAwait(false);
        return tenantPath + "topics/" + Uri.EscapeDataString(topic) + "/subscribers/" + Uri.EscapeDataString(npid);
    }

    /// <summary>"#80" travels as %2380.</summary>
    private string NamePath(string name) => tenantPath + "names/" + Uri.EscapeDataString(name);

    private static NameEntry ToEntry(NameEntryDto dto)
    {
        var entry = new NameEntry { Name = dto.Name };
        foreach (var h in dto.Holders ?? [])
        {
            entry.Holders.Add(new NameHolder { Npid = h.Npid, Node = h.Node ?? string.Empty });
        }

        return entry;
    }

    /// <summary>The JSON spelling of a delivery mode (null: the destination's own).</summary>
    private static string? ModeName(DeliveryMode mode) => mode switch
    {
        DeliveryMode.Any => "any",
        DeliveryMode.Failover => "failover",
        DeliveryMode.All => "all",
        DeliveryMode.Broadcast => "broadcast",
        DeliveryMode.Publish => "publish",
        _ => null,
    };

    /// <summary>A wait as the query string takes it: whole seconds as "10s", else milliseconds as "250ms".</summary>
    private static string Duration(TimeSpan span)
    {
        var ms = (long)Math.Ceiling(span.TotalMilliseconds);
        return ms % 1000 == 0
            ? (ms / 1000).ToString(CultureInfo.InvariantCulture) + "s"
            : ms.ToString(CultureInfo.InvariantCulture) + "ms";
    }
}
