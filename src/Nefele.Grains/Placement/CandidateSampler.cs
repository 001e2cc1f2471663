using Nefele.Client;
using Nefele.Nodes;
using Nefele.Processes;

namespace Nefele.Placement;

/// <summary>
/// Picks up to d candidate nodes for tasks with one set of constraints, uniformly among the
/// nodes that match. The decision cost stays bounded: it starts from the smallest matching
/// list the index already holds (a label's nodes, a device's nodes, or the nodes of an
/// affinity's processes) and probes at most a bounded number of random entries of it, never
/// the whole cluster. When nothing matches it says which constraint excluded the nodes it saw.
/// </summary>
public sealed class CandidateSampler(NodeIndex index, IReadOnlyList<string> activeReal, IReadOnlyDictionary<Selector, IReadOnlySet<string>> resolved, Random random)
{
    /// <summary>A base list up to this long (or 4·d) is checked whole; longer ones are probed at random.</summary>
    public const int ScanLimit = 256;

    private readonly HashSet<string> _active = activeReal.ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Up to <paramref name="d"/> matching nodes; when none, the reason. Note says which
    /// constraints passed over some of the nodes seen (for a capacity rejection's message).
    /// </summary>
    public (IReadOnlyList<string> Nodes, string? Reason, string? Note) Sample(ProcessSpec spec, int d)
    {
        var affinity = spec.Affinity.Select(a => Selector.Parse(a, string.Empty)).ToArray();
        var anti = spec.AntiAffinity.Select(a => Selector.Parse(a, string.Empty)).ToArray();
        var filters = new List<Filter>();
        foreach (var (device, wanted) in spec.Devices)
        {
            if (wanted > 0)
            {
                filters.Add(new($"device {device}", n => index.HasDevice(n, device), k => $"no node has device {device}: 0 of {k} sampled nodes declare it"));
            }
        }

        IReadOnlyList<string>? from = null;
        foreach (var a in affinity)
        {
            if (a.Kind == SelectorKind.Label)
            {
                filters.Add(new($"affinity {a}", n => index.HasLabel(n, a.Value, a.LabelValue!), k => $"no node has label {a.Value}={a.LabelValue}: 0 of {k} sampled nodes carry it"));
                continue;
            }

            var nodes = resolved.GetValueOrDefault(a) ?? new HashSet<string>();
            if (nodes.Count == 0)
            {
                return ([], a.Kind == SelectorKind.Npid
                    ? $"affinity {a}: no process {a.Value} is running in this tenant"
                    : $"affinity {a}: no process named {a.Value} is running in this tenant", null);
            }

            filters.Add(new($"affinity {a}", nodes.Contains, k => $"affinity {a} excludes every sampled node ({k} sampled)"));
            if (from is null || nodes.Count < from.Count)
            {
                from = nodes.ToArray();
            }
        }

        foreach (var a in anti)
        {
            filters.Add(new(
                $"anti-affinity {a}",
                a.Kind == SelectorKind.Label ? n => !index.HasLabel(n, a.Value, a.LabelValue!) : n => !(resolved.GetValueOrDefault(a)?.Contains(n) ?? false),
                k => $"anti-affinity {a} excludes every sampled node ({k} sampled)"));
        }

        if (from is null)
        {
            // The smallest index list that every match must be in; an empty one would match
            // nothing, so sample the cluster instead and let the filter say so.
            foreach (var list in spec.Devices.Where(kv => kv.Value > 0).Select(kv => index.ByDevice.GetValueOrDefault(kv.Key))
                .Concat(affinity.Where(a => a.Kind == SelectorKind.Label).Select(a => index.ByLabel.GetValueOrDefault($"{a.Value}={a.LabelValue}"))))
            {
                if (list is { Count: > 0 } && (from is null || list.Count < from.Count))
                {
                    from = list;
                }
            }
        }

        var result = Probe(from, filters, d);
        if (result.Seen == 0 && from is not null && affinity.All(a => a.Kind == SelectorKind.Label))
        {
            // Every node the index listed has left the cluster: let the filters judge live ones.
            result = Probe(null, filters, d);
        }

        var (chosen, rejectedBy, seen) = result;
        var note = rejectedBy.Any(r => r > 0)
            ? string.Join(", ", rejectedBy.Select((r, f) => (r, f)).Where(x => x.r > 0).Select(x => $"{filters[x.f].Name} passed over {x.r} of {seen} sampled nodes"))
            : null;
        if (chosen.Count > 0)
        {
            return (chosen, null, note);
        }

        if (seen == 0)
        {
            return ([], "no node is active in the cluster", null);
        }

        var only = Array.FindIndex(rejectedBy, r => r == seen);
        return ([], only >= 0 ? filters[only].Why(seen) : "the constraints exclude every sampled node: " + note, null);
    }

    private (List<string> Chosen, int[] RejectedBy, int Seen) Probe(IReadOnlyList<string>? from, List<Filter> filters, int d)
    {
        var all = from is null;
        var count = all ? activeReal.Count + index.Hollow.Count : from!.Count;
        string At(int i) => !all ? from![i] : i < activeReal.Count ? activeReal[i] : index.Hollow[i - activeReal.Count];

        var chosen = new List<string>(d);
        var rejectedBy = new int[filters.Count];
        var seen = 0;
        foreach (var i in Probes(count, d))
        {
            var node = At(i);
            if (!Alive(node))
            {
                continue;
            }

            seen++;
            var failed = filters.FindIndex(f => !f.Pass(node));
            if (failed >= 0)
            {
                rejectedBy[failed]++;
                continue;
            }

            chosen.Add(node);
            if (chosen.Count == d)
            {
                break;
            }
        }

        return (chosen, rejectedBy, seen);
    }

    private sealed record Filter(string Name, Func<string, bool> Pass, Func<int, string> Why);

    private bool Alive(string node) => HollowNode.IsHollow(node) ? index.Entries.ContainsKey(node) : _active.Contains(node);

    /// <summary>Every index in random order when the list is short; else a bounded number of random distinct ones.</summary>
    private IEnumerable<int> Probes(int count, int d)
    {
        if (count <= Math.Max(ScanLimit, 4 * d))
        {
            var order = Enumerable.Range(0, count).ToArray();
            random.Shuffle(order);
            foreach (var i in order)
            {
                yield return i;
            }

            yield break;
        }

        var tried = new HashSet<int>();
        for (var probes = 0; probes < 8 * d; probes++)
        {
            var i = random.Next(count);
            if (tried.Add(i))
            {
                yield return i;
            }
        }
    }
}
