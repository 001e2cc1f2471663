using System.Globalization;
using Nefele.Client;

namespace Nefele.Supervision;

/// <summary>
/// How a child is stopped, parsed from <see cref="Client.ChildSpec.Shutdown"/>: brutal_kill (SIGKILL at
/// once), infinity (SIGTERM, then wait), or a timeout (SIGTERM, wait, then SIGKILL).
/// </summary>
public readonly record struct Shutdown(bool BrutalKill, TimeSpan? Timeout)
{
    /// <summary>OTP's default for a worker: SIGTERM, 5 s, then SIGKILL.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The longest timeout a child may ask for: 1 hour (infinity waits without one).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    /// <summary>SIGTERM, then wait for as long as it takes.</summary>
    public bool IsInfinity => !BrutalKill && Timeout is null;

    /// <summary>The child's shutdown; null means the default for its kind (a supervisor waits, a process gets 5 s).</summary>
    public static Shutdown Of(Client.ChildSpec child) =>
        Parse(child.Shutdown) ?? (child.Supervisor is not null ? new Shutdown(false, null) : new Shutdown(false, DefaultTimeout));

    /// <summary>Parses "brutal_kill", "infinity", "&lt;n&gt;s" or "&lt;n&gt;ms"; null for null; a bad request otherwise.</summary>
    public static Shutdown? Parse(string? text)
    {
        if (text is null)
        {
            return null;
        }

        if (text == "brutal_kill")
        {
            return new Shutdown(true, null);
        }

        if (text == "infinity")
        {
            return new Shutdown(false, null);
        }

        var (digits, unit) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1L) : text.EndsWith('s') ? (text[..^1], 1000L) : (string.Empty, 0L);
        if (unit > 0 && digits.Length is > 0 and <= 10 && digits.All(char.IsAsciiDigit)
            && long.Parse(digits, CultureInfo.InvariantCulture) * unit is var ms && ms > 0 && ms <= MaxTimeout.TotalMilliseconds)
        {
            return new Shutdown(false, TimeSpan.FromMilliseconds(ms));
        }

        throw NefeleException.Bad($"shutdown '{Validation.Names.Shorten(text)}' is invalid: use brutal_kill, infinity, or a timeout from 1ms to {MaxTimeout.TotalSeconds:0}s such as 5s or 500ms");
    }
}
