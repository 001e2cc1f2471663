namespace Nefele.Cli.Parsing;

/// <summary>One command of the catalogue: its name, synopsis, one-line summary, help text, flags and what its operands are.</summary>
internal sealed record CommandSpec(string Name, string Synopsis, string Summary, string Details, IReadOnlyList<string> Flags, Operand Operand);
