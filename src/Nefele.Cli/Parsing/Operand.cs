namespace Nefele.Cli.Parsing;

/// <summary>What a command's operands are, for completion.</summary>
internal enum Operand
{
    None,
    Program,
    File,
    Npid,
    Pattern,
    Subcommand,
    Shell,
    Topic,
}
