namespace Nefele.Client;

/// <summary>Linux signal numbers and names, for parsing "-9", "-KILL", "-SIGKILL" and printing.</summary>
public static class Signals
{
    private static readonly string[] Names =
    [
        string.Empty, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE",
        "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT",
        "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU",
        "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];

    /// <summary>SIGTERM (15): the polite stop, the default of kill.</summary>
    public const int SigTerm = 15;

    /// <summary>SIGKILL (9): the stop that cannot be caught.</summary>
    public const int SigKill = 9;

    /// <summary>The signal's name as ps and nef print it ("SIGKILL", "SIGRTMIN+3", else "signal N").</summary>
    /// <param name="signal">The signal's number.</param>
    /// <returns>Its name.</returns>
    public static string Name(int signal) =>
        signal > 0 && signal < Names.Length ? Names[signal]
        : signal >= 34 && signal <= 64 ? $"SIGRTMIN+{signal - 34}"
        : $"signal {signal}";

    /// <summary>Parses "9", "KILL" or "SIGKILL" (any case); null when it is not a signal.</summary>
    public static int? Parse(string text)
    {
        if (int.TryParse(text, out var n))
        {
            return n is >= 1 and <= 64 ? n : null;
        }

        var upper = text.ToUpperInvariant();
        if (!upper.StartsWith("SIG", StringComparison.Ordinal))
        {
            upper = "SIG" + upper;
        }

        var index = Array.IndexOf(Names, upper);
        return index > 0 ? index : null;
    }
}
