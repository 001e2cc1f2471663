using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;

namespace Nefele.Protocol;

/// <summary>
/// A per-spawn hop trace for bench/README.md ("Spawn and crash on a loaded machine"): each hop
/// of a spawn and of an exit, in the client, the silo and hostd, records a <see cref="Stopwatch"/>
/// timestamp (CLOCK_MONOTONIC, so times compare across processes) with the NPID, control
/// request id or pid it belongs to. Compiled in only with <c>-p:NefeleHopTiming=true</c> (the
/// calls and their arguments vanish otherwise); then, with <c>NEFELE_SPAWN_TRACE=PREFIX</c>,
/// each process writes its marks to <c>PREFIX.&lt;pid&gt;</c> as it exits, one
/// "timestamp tag key thread" a line, and <c>bench/spawn-trace.py PREFIX</c> joins them.
/// </summary>
public static class SpawnTrace
{
    private static readonly string? Prefix = Environment.GetEnvironmentVariable("NEFELE_SPAWN_TRACE") is { Length: > 0 } p ? p : null;
    private static readonly ConcurrentQueue<(long At, string Tag, string Key, int Thread)> Marks = new();

    static SpawnTrace()
    {
        if (Prefix is not null)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Flush();
        }
    }

    /// <summary>Records that <paramref name="key"/> (an NPID, "id&lt;n&gt;" or "pid&lt;n&gt;") passed hop <paramref name="tag"/> now.</summary>
    [Conditional("NEFELE_HOP_TIMING")]
    public static void Mark(string tag, string key)
    {
        if (Prefix is not null)
        {
            Marks.Enqueue((Stopwatch.GetTimestamp(), tag, key, Environment.CurrentManagedThreadId));
        }
    }

    private static void Flush()
    {
        var text = new StringBuilder();
        while (Marks.TryDequeue(out var m))
        {
            text.Append(m.At).Append(' ').Append(m.Tag).Append(' ').Append(m.Key).Append(' ').Append(m.Thread).Append('\n');
        }

        File.AppendAllText($"{Prefix}.{Environment.ProcessId}", text.ToString());
    }
}
