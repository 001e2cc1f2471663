using System.Text.Json;
using Nefele.Cli.Json;
using Nefele.Cli.Parsing;
using Nefele.Client;

namespace Nefele.Cli.Commands;

/// <summary>
/// image push TARBALL NAME[:TAG] [--config FILE.json] [--digest D]: uploads a root filesystem tarball
/// with its config and prints NAME:TAG and the image's digest. Without --config, TARBALL's sibling
/// config (busybox.tar → busybox.json, as scripts/images writes them) is taken when there is one.
/// </summary>
internal sealed record ImagePushCommand(string Tarball, string Name, string Tag, string? ConfigFile, string? Digest) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        if (!File.Exists(Tarball))
        {
            throw new UsageException($"image push: {Tarball}: no such file");
        }

        var config = ReadConfig(ConfigFile ?? Sibling(Tarball));
        var image = await context.Images("image push").PushImageAsync(
            Name, Tag, () => new FileStream(Tarball, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), config, Digest, ct).ConfigureAwait(false);
        await context.Out.WriteLineAsync($"{image.Name}:{image.Tag} {image.Digest}").ConfigureAwait(false);
        return NefApp.Ok;
    }

    /// <summary>busybox.tar, busybox.tar.gz or busybox.tgz → busybox.json, when it exists.</summary>
    public static string? Sibling(string tarball)
    {
        foreach (var suffix in new[] { ".tar.gz", ".tgz", ".tar" })
        {
            if (tarball.EndsWith(suffix, StringComparison.Ordinal))
            {
                var config = tarball[..^suffix.Length] + ".json";
                return File.Exists(config) ? config : null;
            }
        }

        return null;
    }

    /// <summary>An image config file (cmd, env, user, workingDir, systemd); null path: none.</summary>
    public static ImageConfig? ReadConfig(string? path)
    {
        if (path is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), NefJsonContext.Default.ImageConfig)
                ?? throw new UsageException($"{path}: the config is null");
        }
        catch (JsonException e)
        {
            throw new UsageException($"{path}: not an image config ({{\"cmd\": [...], \"env\": {{...}}, \"user\", \"workingDir\", \"systemd\"}}): {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: {e.Message}");
        }
    }
}
