using Nefele.Cli.Parsing;
using Nefele.Cli.Transport;

namespace Nefele.Cli.Commands;

/// <summary>recv [--timeout 10s] [--tag T]: one message of the caller's mailbox, its bytes on stdout.</summary>
internal sealed record RecvCommand(TimeSpan Timeout, string? Tag) : INefCommand
{
    public bool Waits => Timeout > TimeSpan.Zero;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var message = await context.Transport.ReceiveAsync(Timeout, Tag, ct).ConfigureAwait(false)
            ?? throw new NefeleApiException($"timed out: no message{(Tag is null ? string.Empty : $" tagged {Tag}")} came within {Durations.Format(Timeout)}") { Code = "timed_out" };
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        await context.RawOut.WriteAsync(message.Data.Memory, ct).ConfigureAwait(false);
        await context.RawOut.FlushAsync(ct).ConfigureAwait(false);
        return NefApp.Ok;
    }
}
