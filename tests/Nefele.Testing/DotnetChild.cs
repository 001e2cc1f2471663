using System.Diagnostics;
using System.Text;

namespace Nefele.Testing;

/// <summary>A .NET program a test starts (a silo, a hostd), its output kept line by line under a tag for the failure message.</summary>
public static class DotnetChild
{
    public static Process Start(string tag, string dll, IEnumerable<string> args, StringBuilder log, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (name, value) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        var p = new Process { StartInfo = psi };
        p.OutputDataReceived += (_, e) => Append(log, tag, e.Data);
        p.ErrorDataReceived += (_, e) => Append(log, tag, e.Data);
        p.Start();
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    private static void Append(StringBuilder log, string tag, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.Append(tag).Append(": ").AppendLine(line);
        }
    }
}
