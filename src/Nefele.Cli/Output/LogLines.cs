using System.Text;
using Nefele.Api;

namespace Nefele.Cli.Output;

/// <summary>
/// Records of several processes as lines, as docker compose logs prints them: each line whole,
/// after its process's label ("web/NPID", or the NPID of a process without a name) and "stderr" for
/// standard error, then " | ". A line a process wrote in several records is held until it ends
/// (or grows past 16 Ki characters), so lines of different processes never mix; what is held is written at
/// the end. With timestamps, each line starts after the prefix with the time its record was read.
/// </summary>
internal sealed class LogLines(Stream output, bool prefix, bool timestamps)
{
    private const int MaxHeldChars = 16 * 1024;

    private readonly Dictionary<(string Npid, string Stream), (string Head, StringBuilder Text)> held = [];

    public async ValueTask WriteAsync(LogRecordEvent record)
    {
        var key = (record.Npid, record.Stream);
        var head = Head(record);
        var text = record.Text;
        if (held.Remove(key, out var pending))
        {
            head = pending.Head;
            text = pending.Text.Append(text).ToString();
        }

        var cut = text.LastIndexOf('\n') + 1;
        if (cut < text.Length && text.Length - cut < MaxHeldChars)
        {
            held[key] = (cut == 0 ? head : Head(record), new StringBuilder(text[cut..]));
            text = text[..cut];
        }

        await WriteLinesAsync(head, text).ConfigureAwait(false);
    }

    /// <summary>Writes what is held (lines whose end never came) and flushes.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        foreach (var (head, text) in held.Values)
        {
            await WriteLinesAsync(head, text.ToString()).ConfigureAwait(false);
        }

        held.Clear();
        await output.FlushAsync(ct).ConfigureAwait(false);
    }

    private string Head(LogRecordEvent record)
    {
        var head = new StringBuilder();
        if (prefix)
        {
            head.Append(record.Name is null ? record.Npid : record.Name + "/" + record.Npid);
            if (record.Stream == "stderr")
            {
                head.Append(" stderr");
            }

            head.Append(" | ");
        }

        if (timestamps)
        {
            head.Append(record.Time).Append(' ');
        }

        return head.ToString();
    }

    private async Task WriteLinesAsync(string head, string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        var lines = new StringBuilder();
        foreach (var line in (text.EndsWith('\n') ? text[..^1] : text).Split('\n'))
        {
            lines.Append(head).Append(line).Append('\n');
        }

        await output.WriteAsync(Encoding.UTF8.GetBytes(lines.ToString())).ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
    }
}
