using System.Globalization;
using System.Text;

namespace Nefele.HostAgent.Engines.Systemd;

/// <summary>
/// How a process is named and described in systemd: unit <c>nefele-&lt;npid&gt;.service</c> in slice
/// <c>nefele-&lt;tenant&gt;.slice</c>, and a Description that carries what hostd reports about it
/// again after a restart (node, npid, tenant, uid, gid), since a transient unit has no other
/// place for it.
/// </summary>
internal static class UnitNames
{
    public const string Prefix = "nefele-";
    public const string Suffix = ".service";
    private const string DescriptionTag = "nefele";

    /// <summary>The unit of process <paramref name="npid"/>; characters a unit name cannot hold are \xNN-escaped, as systemd-escape does.</summary>
    public static string Unit(string npid) => Prefix + Escape(npid, keepDash: true) + Suffix;

    /// <summary>The tenant's slice, a child of nefele.slice ('-' in the tenant's name is escaped: in a slice name it means nesting).</summary>
    public static string Slice(string tenant) => Prefix + Escape(tenant, keepDash: false) + ".slice";

    public static string Describe(UnitFacts facts) =>
        string.Create(CultureInfo.InvariantCulture, $"{DescriptionTag} node={facts.Node} npid={facts.Npid} tenant={facts.Tenant} uid={facts.Uid} gid={facts.Gid}");

    /// <summary>The facts in a Description this engine wrote, or null for any other.</summary>
    public static UnitFacts? Parse(string description)
    {
        var parts = description.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0 || parts[0] != DescriptionTag)
        {
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in parts.AsSpan(1))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                values[part[..eq]] = part[(eq + 1)..];
            }
        }

        return values.TryGetValue("node", out var node) && values.TryGetValue("npid", out var npid) && values.TryGetValue("tenant", out var tenant)
            && values.TryGetValue("uid", out var uidText) && uint.TryParse(uidText, CultureInfo.InvariantCulture, out var uid)
            && values.TryGetValue("gid", out var gidText) && uint.TryParse(gidText, CultureInfo.InvariantCulture, out var gid)
            ? new UnitFacts(node, npid, tenant, uid, gid)
            : null;
    }

    private static string Escape(string text, bool keepDash)
    {
        var builder = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is ':' or '_' || (c == '.' && builder.Length > 0) || (keepDash && c == '-'))
            {
                builder.Append(c);
            }
            else
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\x{b:x2}");
            }
        }

        return builder.ToString();
    }
}

/// <summary>What a unit's Description records about its process.</summary>
internal sealed record UnitFacts(string Node, string Npid, string Tenant, uint Uid, uint Gid);
