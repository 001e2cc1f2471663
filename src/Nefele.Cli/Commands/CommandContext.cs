using Nefele.Cli.Transport;

namespace Nefele.Cli.Commands;

/// <summary>What a command runs with: the transport (connected on first use), its output streams and the clock.</summary>
internal sealed class CommandContext
{
    private readonly Func<INefeleTransport> connect;
    private INefeleTransport? transport;

    public CommandContext(Func<INefeleTransport> connect, TextWriter output, Stream rawOutput, TextWriter error, TimeProvider time)
    {
        this.connect = connect;
        Out = output;
        RawOut = rawOutput;
        Err = error;
        Time = time;
    }

    public INefeleTransport Transport => transport ??= connect();

    /// <summary>Text output (NPIDs, tables, monitor lines).</summary>
    public TextWriter Out { get; }

    /// <summary>Byte output for logs, written as captured.</summary>
    public Stream RawOut { get; }

    public TextWriter Err { get; }

    public TimeProvider Time { get; }

    /// <summary>Standard input, opened when a command first reads it (send, publish).</summary>
    public Func<Stream> In { get; init; } = Console.OpenStandardInput;

    public bool Connected => transport is not null;
}
