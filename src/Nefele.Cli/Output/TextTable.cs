namespace Nefele.Cli.Output;

/// <summary>Left-aligned columns two spaces apart, the first row the header (as ps and kubectl print).</summary>
internal static class TextTable
{
    public static async Task WriteAsync(TextWriter output, IReadOnlyList<string[]> rows)
    {
        var widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (var row in rows)
        {
            await output.WriteLineAsync(string.Join("  ", row.Select((cell, c) => cell.PadRight(widths[c]))).TrimEnd()).ConfigureAwait(false);
        }
    }
}
