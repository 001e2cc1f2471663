using System.Globalization;
using Nefele.Cli.Transport;
using Nefele.InProcess;
using Nefele.Validation;

namespace Nefele.Cli.Commands;

/// <summary>send DEST / publish TOPIC: standard input (at most one message's worth) as one message; prints how many mailboxes it went to.</summary>
internal sealed record SendCommand(string To, SendOptions Options) : INefCommand
{
    public bool Waits => Options.Ack || Options.Wait > TimeSpan.Zero;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var data = await ReadMessageAsync(context.In(), ct).ConfigureAwait(false);
        var delivered = await context.Transport.SendAsync(To, data, Options, ct).ConfigureAwait(false);
        await context.Out.WriteLineAsync(delivered.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
        return NefApp.Ok;
    }

    /// <summary>All of stdin, refused (before anything is sent) when it holds more than a message may carry.</summary>
    private static async Task<ReadOnlyMemory<byte>> ReadMessageAsync(Stream input, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int n;
        while ((n = await input.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, n);
            if (buffer.Length > Limits.MaxMessageBytes)
            {
                throw new NefeleApiException($"message too large: standard input holds more than {Limits.MaxMessageBytes} bytes, the most one message carries")
                {
                    Code = "message_too_large",
                };
            }
        }

        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }
}
