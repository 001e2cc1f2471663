using Nefele.Cli.Parsing;
using Nefele.Cli.Transport;

namespace Nefele.Cli.Commands;

/// <summary>The admin side of a command's transport: the REST API only.</summary>
internal static class AdminContext
{
    public static INefeleAdmin Admin(this CommandContext context, string verb) =>
        context.Transport as INefeleAdmin
            ?? throw new UsageException($"{verb}: not available inside a Nefele process (a process acts only within its own tenant); run it from outside with an API key");
}
