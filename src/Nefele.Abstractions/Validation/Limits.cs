namespace Nefele.Validation;

/// <summary>
/// Every size and count limit a caller can meet, in one place. Each door (REST, SDK, the
/// process socket, grains, hostd) checks them at admission, before anything is placed or
/// stored, so an oversized request costs nothing and is refused with a message that names
/// the limit. The values are sized so a request that passes them also fits hostd's 4 MiB frame.
/// </summary>
public static class Limits
{
    /// <summary>Most arguments (argv[1..]) one process may be given: 4,096.</summary>
    public const int MaxArgs = 4096;

    /// <summary>
    /// Most bytes of path plus arguments (UTF-8, one NUL each) one process may be given: 256 KiB,
    /// twice Linux's limit on a single argument string and well under its ARG_MAX.
    /// </summary>
    public const int MaxCommandLineBytes = 256 * 1024;

    /// <summary>Most environment variables one process may be given: 1,024.</summary>
    public const int MaxEnvVars = 1024;

    /// <summary>Most bytes of environment ("NAME=value" in UTF-8, one NUL each) one process may be given: 256 KiB.</summary>
    public const int MaxEnvBytes = 256 * 1024;

    /// <summary>Longest absolute path (program or working directory) in bytes: 4,095 (PATH_MAX less its NUL).</summary>
    public const int MaxPathBytes = 4095;

    /// <summary>The longest file name (NAME_MAX), and so the longest bare program name a spawn may give.</summary>
    public const int MaxFileNameBytes = 255;

    /// <summary>
    /// Most bytes all the distinct task specs of one spawn request may add up to (paths, args,
    /// env): 1 MiB. nspawn's copies of one spec count once. Keeps one request from costing the
    /// silo more than a small multiple of this, and keeps every launch inside hostd's frame.
    /// </summary>
    public const int MaxSpawnRequestBytes = 1024 * 1024;

    /// <summary>Largest REST request body: 1 MiB, the same as <see cref="MaxSpawnRequestBytes"/> (a spawn is the largest body).</summary>
    public const long MaxRequestBodyBytes = MaxSpawnRequestBytes;

    /// <summary>
    /// Largest image layer (a root filesystem tarball): 2 GiB. A Debian minbase root with systemd is
    /// about 200 MiB unpacked; the limit keeps one push from filling the shared filesystem. The one
    /// REST route that takes a layer accepts bodies up to this size; every other route keeps
    /// <see cref="MaxRequestBodyBytes"/>.
    /// </summary>
    public const long MaxImageLayerBytes = 2L << 30;

    /// <summary>Chunk size of an image upload through the SDK (one grain call each): 1 MiB.</summary>
    public const int ImageUploadChunkBytes = 1 << 20;

    /// <summary>What one log read returns at most when the caller names no size: 256 KiB.</summary>
    public const int DefaultLogReadBytes = 256 * 1024;

    /// <summary>The most one log read may return: 1 MiB (a larger ask reads <see cref="DefaultLogReadBytes"/>).</summary>
    public const int MaxLogReadBytes = 1 << 20;

    /// <summary>
    /// The longest one log read waits for output: 10 s, well inside the grain calls' response
    /// timeout (30 s), so a follower never looks like a failed node; longer waits are several reads.
    /// </summary>
    public static readonly TimeSpan MaxLogWait = TimeSpan.FromSeconds(10);

    /// <summary>Records one reply of a C API log query carries when the caller names no number: 256.</summary>
    public const int DefaultLogQueryRecords = 256;

    /// <summary>The most records one reply of a C API log query carries: 1,000 (a larger ask gets this many).</summary>
    public const int MaxLogQueryRecords = 1000;

    /// <summary>
    /// Most log queries (C API cursors) one tenant may hold open in one silo at once: 64. Each holds
    /// readers of many processes, so the bound keeps one process from exhausting the silo; one more
    /// is refused with <c>limit_exceeded</c>.
    /// </summary>
    public const int MaxLogQueriesPerTenant = 64;

    /// <summary>How long a log query's cursor lives without a request: 60 s (a caller that died leaves nothing behind).</summary>
    public static readonly TimeSpan LogQueryIdleTimeout = TimeSpan.FromSeconds(60);

    /// <summary>Most tasks (processes) one spawn request may ask for: 10,000. The placement options may lower it.</summary>
    public const int MaxTasksPerRequest = 10_000;

    /// <summary>Most monitors waiting on one process at once: 64. One more is refused with <c>limit_exceeded</c>.</summary>
    public const int MaxMonitorsPerProcess = 64;

    /// <summary>
    /// Most bytes one terminal input call types into a tty process (attach sends each batch of
    /// keystrokes or pasted text as it comes): 64 KiB. More is bad_request; send it in several calls.
    /// </summary>
    public const int MaxTerminalInputBytes = 64 * 1024;

    /// <summary>Largest terminal window, rows or columns: 65535 (the kernel's winsize fields are 16 bits). Both at least 1.</summary>
    public const int MaxTerminalSize = ushort.MaxValue;

    /// <summary>
    /// How long hostd waits for a terminal to take typed input: 5 s. A write to the terminal blocks
    /// while its input queue is full (a program in raw mode that reads none of it; in line mode the
    /// kernel drops the excess instead); input is then refused with bad_request saying so, instead
    /// of holding the node's control channel.
    /// </summary>
    public static readonly TimeSpan TerminalInputWait = TimeSpan.FromSeconds(5);

    /// <summary>Most log followers waiting on one process's output at once: 64. One more is refused with <c>limit_exceeded</c>.</summary>
    public const int MaxLogFollowersPerProcess = 64;

    /// <summary>Longest client-chosen request id: 128 characters.</summary>
    public const int MaxRequestIdLength = 128;

    /// <summary>Most affinity plus anti-affinity selectors one task may give: 32.</summary>
    public const int MaxSelectors = 32;

    /// <summary>Most of one device one task may ask for: 1,024.</summary>
    public const long MaxDeviceCount = 1024;

    /// <summary>Smallest memory limit a process may be given: 1 MiB (0 means no limit).</summary>
    public const long MinMemoryBytes = 1024 * 1024;

    /// <summary>Largest message (its data): 1 MiB. A larger one is refused with <c>message_too_large</c>.</summary>
    public const int MaxMessageBytes = 1 << 20;

    /// <summary>Longest message tag: 64 characters of printable ASCII.</summary>
    public const int MaxMessageTagLength = 64;

    /// <summary>Messages a mailbox holds at most when its spawn names no bound: 10,000.</summary>
    public const int DefaultMailboxMessages = 10_000;

    /// <summary>Bytes (message data) a mailbox holds at most when its spawn names no bound: 64 MiB.</summary>
    public const long DefaultMailboxBytes = 64L << 20;

    /// <summary>The largest message bound a spawn may give its mailbox: 1,000,000.</summary>
    public const int MaxMailboxMessages = 1_000_000;

    /// <summary>The largest byte bound a spawn may give its mailbox: 1 GiB.</summary>
    public const long MaxMailboxBytes = 1L << 30;

    /// <summary>
    /// Most messages one batch receive takes: 1,024. Enough to empty a busy mailbox in a few
    /// calls, where a receive per message costs a round trip to hostd each.
    /// </summary>
    public const int MaxReceiveBatch = 1024;

    /// <summary>
    /// Data bytes a batch receive takes beyond its first message: at most 2 MiB, so that the
    /// answer (with the first message, up to <see cref="MaxMessageBytes"/>) stays well within
    /// one 4 MiB frame.
    /// </summary>
    public const int MaxReceiveBatchBytes = 2 << 20;

    /// <summary>
    /// The longest one receive, one wait for a name, or one send's wait for room lasts: 10 s, as
    /// <see cref="MaxLogWait"/> and for the same reason; longer waits are several calls.
    /// </summary>
    public static readonly TimeSpan MaxMessagingWait = TimeSpan.FromSeconds(10);

    /// <summary>Most names and service ids one tenant may have registered at once: 10,000.</summary>
    public const int MaxNamesPerTenant = 10_000;

    /// <summary>Most names, service ids and topics one process may hold at once: 64.</summary>
    public const int MaxNamesPerProcess = 64;
}
