namespace Nefele.Silo;

/// <summary>
/// The repeatable node flags the configuration binder cannot take as they are:
/// <c>--label key=value</c> becomes <c>--Node:Labels:key=value</c> and <c>--device gpu=2</c>
/// becomes <c>--Node:Devices:gpu=2</c> (also in the <c>--label=key=value</c> form).
/// </summary>
internal static class NodeFlags
{
    public static string[] Expand(string[] args)
    {
        var expanded = new List<string>(args.Length);
        for (var i = 0; i < args.Length; i++)
        {
            var (flag, section) = args[i] switch
            {
                "--label" or "--device" => (args[i], args[i] == "--label" ? "Labels" : "Devices"),
                var a when a.StartsWith("--label=", StringComparison.Ordinal) => ("--label=", "Labels"),
                var a when a.StartsWith("--device=", StringComparison.Ordinal) => ("--device=", "Devices"),
                _ => (null, null),
            };
            if (flag is null)
            {
                expanded.Add(args[i]);
                continue;
            }

            var pair = flag.EndsWith('=') ? args[i][flag.Length..] : i + 1 < args.Length ? args[++i] : string.Empty;
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                throw new ArgumentException($"{flag.TrimEnd('=')} wants key=value, got '{pair}'");
            }

            expanded.Add($"--Node:{section}:{pair[..eq]}={pair[(eq + 1)..]}");
        }

        return expanded.ToArray();
    }
}
