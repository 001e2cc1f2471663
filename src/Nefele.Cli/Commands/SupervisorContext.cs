using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Nefele.Cli.Parsing;
using Nefele.Cli.Transport;

namespace Nefele.Cli.Commands;

/// <summary>What the sup commands share: the supervisor routes (REST only) and --json output.</summary>
internal static class SupervisorContext
{
    public static ISupervisorTransport Supervisors(this CommandContext context, string verb) =>
        context.Transport as ISupervisorTransport
            ?? throw new UsageException($"{verb}: not available inside a Nefele process (hostd's socket has no supervisor calls); run it from outside with an API key");

    /// <summary>Writes <paramref name="value"/> as indented JSON and a newline, as ps --json does.</summary>
    public static async Task WriteJsonAsync<T>(this CommandContext context, T value, JsonTypeInfo<T> type, CancellationToken ct)
    {
        using var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            JsonSerializer.Serialize(writer, value, type);
        }

        buffer.WriteByte((byte)'\n');
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        await context.RawOut.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ct).ConfigureAwait(false);
        await context.RawOut.FlushAsync(ct).ConfigureAwait(false);
    }
}
