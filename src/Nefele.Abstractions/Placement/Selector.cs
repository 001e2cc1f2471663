using Nefele.Client;
using Nefele.Errors;
using Nefele.Validation;

namespace Nefele.Placement;

/// <summary>
/// One affinity / anti-affinity selector: <c>npid:&lt;NPID&gt;</c> (the node running that process),
/// <c>name:&lt;name&gt;</c> (nodes running a process of that name in the tenant) or
/// <c>label:&lt;key&gt;=&lt;value&gt;</c> (a node label).
/// </summary>
public readonly record struct Selector(SelectorKind Kind, string Value, string? LabelValue = null)
{
    public override string ToString() => Kind switch
    {
        SelectorKind.Npid => $"npid:{Value}",
        SelectorKind.Name => $"name:{Value}",
        _ => $"label:{Value}={LabelValue}",
    };

    /// <summary>Parses <paramref name="text"/>, or throws a bad_request naming the forms allowed.</summary>
    public static Selector Parse(string text, string where)
    {
        if (TryParse(text, out var selector))
        {
            return selector;
        }

        throw NefeleException.Bad($"spawn rejected: {where}selector '{Names.Shorten(text)}' is not npid:<NPID>, name:<name> or label:<key>=<value>");
    }

    public static bool TryParse(string? text, out Selector selector)
    {
        selector = default;
        if (text is null)
        {
            return false;
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }

        var value = text[(colon + 1)..];
        switch (text[..colon])
        {
            case "npid" when Names.IsNpid(value):
                selector = new Selector(SelectorKind.Npid, value);
                return true;
            case "name" when Names.IsProcessName(value):
                selector = new Selector(SelectorKind.Name, value);
                return true;
            case "label":
                var eq = value.IndexOf('=', StringComparison.Ordinal);
                if (eq > 0 && Names.IsLabelKey(value[..eq]) && Names.IsLabelValue(value[(eq + 1)..]))
                {
                    selector = new Selector(SelectorKind.Label, value[..eq], value[(eq + 1)..]);
                    return true;
                }

                return false;
            default:
                return false;
        }
    }
}
