using System.Text.Json;
using Nefele.Cli.Json;
using Nefele.Cli.Output;

namespace Nefele.Cli.Commands;

/// <summary>ps: the tenant's live processes (with -a also those that ended recently) as a table, or as a JSON array with --json.</summary>
internal sealed record PsCommand(bool Json, bool All = false) : INefCommand
{
    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var processes = await context.Transport.PsAsync(All, ct).ConfigureAwait(false);
        if (Json)
        {
            using var buffer = new MemoryStream();
            await using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
            {
                JsonSerializer.Serialize(writer, processes, NefJsonContext.Default.IReadOnlyListProcessInfo);
            }

            buffer.WriteByte((byte)'\n');
            await context.Out.FlushAsync(ct).ConfigureAwait(false);
            await context.RawOut.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), ct).ConfigureAwait(false);
            await context.RawOut.FlushAsync(ct).ConfigureAwait(false);
            return 0;
        }

        await context.Out.WriteAsync(PsTable.Format(processes, context.Time.GetUtcNow())).ConfigureAwait(false);
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        return 0;
    }
}
