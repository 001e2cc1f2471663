using Nefele.Validation;

namespace Nefele.Messaging;

/// <summary>Settings of cross-node delivery and external mailboxes (section "Messaging"; checked at start-up in SiloBuilderExtensions).</summary>
public sealed class MessagingOptions
{
    public const string Section = "Messaging";

    /// <summary>
    /// An external mailbox (an SDK program's, a REST key's) that nobody opens, receives from or
    /// sends from for this long is dropped, and the messages still in it are counted as dropped.
    /// Default 5 min: longer than any receive (<see cref="Limits.MaxMessagingWait"/>), so a program
    /// that keeps reading never loses its mailbox.
    /// </summary>
    public TimeSpan MailboxIdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Most messages a router hands to one target node (or external mailbox) in one call. Default
    /// 512: enough to amortise a call under load, small enough (with 1 MiB messages capped by
    /// <see cref="BatchMaxBytes"/>) to keep one call short.
    /// </summary>
    public int BatchMaxMessages { get; set; } = 512;

    /// <summary>Most message bytes in one batch (a single larger message still goes, alone). Default 4 MiB.</summary>
    public long BatchMaxBytes { get; set; } = 4L << 20;

    /// <summary>
    /// Most NPID → node entries a router remembers; past it the cache starts again empty (a miss
    /// costs one call to the process grain). Default 100,000.
    /// </summary>
    public int RouteCacheEntries { get; set; } = 100_000;
}
