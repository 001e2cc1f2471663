using System.Globalization;

namespace Nefele.HostAgent.Cgroups;

/// <summary>Small helpers for cgroup interface files (one value, or "key value" lines).</summary>
internal static class CgroupFiles
{
    public static void Write(string file, string value) => File.WriteAllText(file, value);

    /// <summary>The pids listed in the cgroup.procs files (every task still in the cgroup); empty if none can be read.</summary>
    public static IReadOnlyList<int> ReadPids(IEnumerable<string> procsFiles)
    {
        var pids = new HashSet<int>();
        foreach (var file in procsFiles)
        {
            try
            {
                foreach (var line in File.ReadLines(file))
                {
                    if (int.TryParse(line, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid))
                    {
                        pids.Add(pid);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The cgroup is gone, so nothing is left in it.
            }
        }

        return pids.ToArray();
    }

    public static long ReadLong(string file)
    {
        try
        {
            return long.TryParse(File.ReadAllText(file).Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : 0;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>Reads the value of <paramref name="key"/> in a flat-keyed file such as memory.events.</summary>
    public static long ReadKey(string file, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(file))
            {
                var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
                {
                    return v;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return 0;
    }

    /// <summary>
    /// Reads /proc/&lt;pid&gt;/cgroup: the first hierarchy <paramref name="ours"/> accepts must
    /// place the process at <c>&lt;nodePath&gt;/&lt;tenant&gt;/&lt;npid&gt;</c>; null otherwise.
    /// </summary>
    public static (string Tenant, string Npid)? Membership(int pid, string nodePath, Func<string, bool> ours)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/cgroup"))
            {
                var first = line.IndexOf(':', StringComparison.Ordinal);
                var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
                if (second < 0 || !ours(line[(first + 1)..second]))
                {
                    continue;
                }

                var path = line[(second + 1)..];
                if (!path.StartsWith(nodePath + "/", StringComparison.Ordinal))
                {
                    return null;
                }

                var rest = path[(nodePath.Length + 1)..].Split('/');
                return rest.Length == 2 && rest[0].Length > 0 && rest[1].Length > 0 ? (rest[0], rest[1]) : null;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process is gone.
        }

        return null;
    }

    /// <summary>rmdir; true when the directory is gone (or never existed).</summary>
    public static bool TryRmdir(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: false);
            return true;
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (IOException)
        {
            // EBUSY: tasks still live in it.
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Removes every empty directory under and including <paramref name="dir"/>, deepest first.</summary>
    public static void RemoveTree(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return;
        }

        foreach (var sub in Directory.GetDirectories(dir))
        {
            RemoveTree(sub);
        }

        TryRmdir(dir);
    }
}
