namespace Nefele.Cli.Parsing;

/// <summary>Walks the command line one argument at a time.</summary>
internal sealed class ArgCursor
{
    private readonly IReadOnlyList<string> args;
    private int index;

    public ArgCursor(IReadOnlyList<string> args)
    {
        this.args = args;
    }

    public bool AtEnd => index >= args.Count;

    public string Peek() => args[index];

    public string Take() => args[index++];

    /// <summary>Everything not read yet, verbatim.</summary>
    public IReadOnlyList<string> TakeRest()
    {
        var rest = new List<string>(args.Count - index);
        while (!AtEnd)
        {
            rest.Add(Take());
        }

        return rest;
    }

    /// <summary>The value of <paramref name="flag"/>: the inline "--flag=value" part, else the next argument.</summary>
    public string TakeValue(string flag, string? inline)
    {
        if (inline is not null)
        {
            return inline;
        }

        if (AtEnd || Peek() == "--")
        {
            throw new UsageException($"{flag} needs a value");
        }

        return Take();
    }

    /// <summary>Splits "--flag=value" into its name and inline value; other tokens come back whole.</summary>
    public static (string Name, string? Inline) Split(string token)
    {
        if (token.StartsWith("--", StringComparison.Ordinal))
        {
            var eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq > 2)
            {
                return (token[..eq], token[(eq + 1)..]);
            }
        }

        return (token, null);
    }
}
