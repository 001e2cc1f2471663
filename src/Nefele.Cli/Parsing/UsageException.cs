namespace Nefele.Cli.Parsing;

/// <summary>The command line is wrong: nef prints the message and exits with status 2.</summary>
internal sealed class UsageException : Exception
{
    public UsageException(string message)
        : base(message)
    {
    }

    public UsageException()
    {
    }

    public UsageException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
