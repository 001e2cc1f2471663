using Nefele.HostAgent.Interop;

namespace Nefele.HostAgent.Engines;

/// <summary>
/// A program named without '/' is looked up in the process's own PATH on this node, as execvp
/// does: the first directory holding an executable file of that name wins. Empty PATH entries
/// (the current directory to execvp) are skipped: a spawned process has no caller's directory.
/// </summary>
internal static class ProgramSearch
{
    /// <summary>The path to exec for <paramref name="program"/>, or a rejection naming the PATH searched.</summary>
    /// <param name="root">An image's root the PATH is searched in (its links may be absolute: what exists there is taken), else null.</param>
    public static string Resolve(string program, IReadOnlyDictionary<string, string> environment, string? root = null)
    {
        if (program.Contains('/', StringComparison.Ordinal))
        {
            return program;
        }

        var path = environment.TryGetValue("PATH", out var p) ? p : "";
        string? notExecutable = null;
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            if (dir[0] != '/')
            {
                continue;
            }

            var candidate = dir.TrimEnd('/') + "/" + program;
            if (root is not null)
            {
                var inRoot = root + candidate;
                if (File.Exists(inRoot) || new FileInfo(inRoot).LinkTarget is not null)
                {
                    return candidate;
                }

                continue;
            }

            if (!File.Exists(candidate))
            {
                continue;
            }

            if (LibC.access(candidate, LibC.X_OK) == 0)
            {
                return candidate;
            }

            notExecutable ??= candidate;
        }

        // As execvp: a file found but not executable is exec'd anyway, so the failure names it.
        return notExecutable
            ?? throw new SpawnRejectedException(Nefele.Client.ErrorCodes.ProgramNotFound, $"spawn rejected: {program}: no such program in PATH ({Shorten(path)}) {(root is null ? "on this node" : "in the image")}");
    }

    private static string Shorten(string path) => path.Length <= 200 ? path : path[..200] + "…";
}
