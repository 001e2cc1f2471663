using Nefele.Cli.Commands;

namespace Nefele.Cli.Parsing;

/// <summary>A parsed command line: the global options and the command to run.</summary>
internal sealed record Invocation(GlobalOptions Globals, INefCommand Command);
