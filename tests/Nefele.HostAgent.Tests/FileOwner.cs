using System.Diagnostics;

namespace Nefele.HostAgent.Tests;

/// <summary>A file's owner and mode as stat(1) reports them (.NET exposes neither the uid nor the gid).</summary>
internal static class FileOwner
{
    public static long Uid(string path) => long.Parse(Stat("%u", path), System.Globalization.CultureInfo.InvariantCulture);

    private static string Stat(string format, string path)
    {
        var psi = new ProcessStartInfo("/usr/bin/stat") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(format);
        psi.ArgumentList.Add(path);
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(10_000) || p.ExitCode != 0)
        {
            throw new IOException($"stat {path} failed: {p.StandardError.ReadToEnd()}");
        }

        return output.Trim();
    }
}
