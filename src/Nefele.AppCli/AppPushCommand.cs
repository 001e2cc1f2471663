using System.Diagnostics;
using Nefele.Cli;
using Nefele.Cli.Commands;
using Nefele.Cli.Parsing;
using Nefele.Images;

namespace Nefele.AppCli;

/// <summary>
/// push DIR|TARBALL NAME[:TAG]: a tarball goes as it is; a directory is packed first (GNU tar,
/// numeric owners, so the image keeps the files' uids). The config: --config, else the sibling
/// .json of the tarball or directory (rootfs/ → rootfs.json), else none.
/// </summary>
internal sealed record AppPushCommand(string Source, ImageReference Image, string? ConfigFile) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        if (!Directory.Exists(Source) && !File.Exists(Source))
        {
            throw new UsageException($"push: {Source}: no such file or directory");
        }

        if (!Directory.Exists(Source))
        {
            return await new ImagePushCommand(Source, Image.Name, Image.Tag, ConfigFile, null).RunAsync(context, ct).ConfigureAwait(false);
        }

        var sibling = Path.TrimEndingDirectorySeparator(Source) + ".json";
        var tarball = Path.Combine(Path.GetTempPath(), $"nefele-push-{Guid.NewGuid():N}.tar");
        try
        {
            await PackAsync(Source, tarball, ct).ConfigureAwait(false);
            return await new ImagePushCommand(tarball, Image.Name, Image.Tag, ConfigFile ?? (File.Exists(sibling) ? sibling : null), null).RunAsync(context, ct).ConfigureAwait(false);
        }
        finally
        {
            File.Delete(tarball);
        }
    }

    private static async Task PackAsync(string dir, string tarball, CancellationToken ct)
    {
        var start = new ProcessStartInfo("tar") { RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "--numeric-owner", "-C", dir, "-cf", tarball, "." })
        {
            start.ArgumentList.Add(arg);
        }

        using var tar = Process.Start(start) ?? throw new UsageException("push: tar could not be started to pack the directory");
        var errors = await tar.StandardError.ReadToEndAsync(ct).ConfigureAwait(false);
        await tar.WaitForExitAsync(ct).ConfigureAwait(false);
        if (tar.ExitCode != 0)
        {
            throw new UsageException($"push: packing {dir} failed (tar exited {tar.ExitCode}): {errors.Trim()}");
        }
    }
}
