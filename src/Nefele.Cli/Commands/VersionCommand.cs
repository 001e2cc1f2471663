namespace Nefele.Cli.Commands;

/// <summary>nef --version: nef's version (and the commit it was built from, when known).</summary>
internal sealed record VersionCommand : INefCommand
{
    public bool Connects => false;

    public static string Text
    {
        get
        {
            // The assembly's informational version (VERSION+COMMIT), written at build time by the project file.
            var version = NefVersion.Informational;
            var plus = version.IndexOf('+', StringComparison.Ordinal);
            return plus < 0 ? $"nef {version}" : $"nef {version[..plus]} (commit {version[(plus + 1)..][..Math.Min(12, version.Length - plus - 1)]})";
        }
    }

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        await context.Out.WriteLineAsync(Text).ConfigureAwait(false);
        await context.Out.FlushAsync(ct).ConfigureAwait(false);
        return 0;
    }
}
