using Nefele.Testing;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// A real terminal for a command: a detached tmux session on a tmux server of its own (its own
/// socket, so the command gets this environment and no other session is touched). The screen is
/// read with capture-pane, keys sent with send-keys. Disposing kills the session by its unique name.
/// </summary>
internal sealed class TmuxTerminal : IAsyncDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private TmuxTerminal(string name) => Name = name;

    public string Name { get; }

    /// <summary>
    /// Runs <paramref name="command"/> in a new 100x30 terminal; when it ends its exit status is
    /// printed as "exit-status=N" and the pane stays (cat holds it open until the session is killed).
    /// </summary>
    public static async Task<TmuxTerminal> StartAsync(IReadOnlyDictionary<string, string> env, params string[] command)
    {
        var terminal = new TmuxTerminal("nefele-attach-" + Guid.NewGuid().ToString("N")[..12]);
        var exports = string.Join(' ', env.Select(e => $"{e.Key}={Quote(e.Value)}"));
        var line = $"env {exports} {string.Join(' ', command.Select(Quote))}; echo exit-status=$?; exec cat >/dev/null";
        await terminal.TmuxAsync("new-session", "-d", "-s", terminal.Name, "-x", "100", "-y", "30", "/bin/sh -c " + Quote(line));
        return terminal;
    }

    /// <summary>What the terminal shows now, one string per line, trailing blanks dropped.</summary>
    public async Task<string> ScreenAsync() => (await TmuxAsync("capture-pane", "-p", "-t", Name)).TrimEnd();

    /// <summary>Types keys (tmux key names: "Enter", "C-p"; other words as text).</summary>
    public Task SendKeysAsync(params string[] keys) => TmuxAsync(["send-keys", "-t", Name, .. keys]);

    /// <summary>Types <paramref name="text"/> literally.</summary>
    public Task TypeAsync(string text) => TmuxAsync("send-keys", "-l", "-t", Name, text);

    public Task ResizeAsync(int columns, int rows) =>
        TmuxAsync("resize-window", "-t", Name, "-x", columns.ToString(System.Globalization.CultureInfo.InvariantCulture), "-y", rows.ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The pane's size as tmux gives it to the program in it: rows, then columns.</summary>
    public async Task<string> PaneSizeAsync() => (await TmuxAsync("display-message", "-p", "-t", Name, "#{pane_height} #{pane_width}")).Trim();

    /// <summary>Waits (bounded) until the screen satisfies <paramref name="condition"/>; returns that screen.</summary>
    public async Task<string> WaitForAsync(Func<string, bool> condition, string what)
    {
        var screen = string.Empty;
        try
        {
            await Eventually.Until(async () => condition(screen = await ScreenAsync()), Bound, what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; the screen:\n{screen}", e);
        }

        return screen;
    }

    public Task<string> WaitForAsync(string text) => WaitForAsync(s => s.Contains(text, StringComparison.Ordinal), $"'{text}' on the screen");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await TmuxAsync("kill-session", "-t", Name);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private async Task<string> TmuxAsync(params string[] args)
    {
        var (code, stdout, stderr) = await Command.RunAsync("tmux", ["-L", Name, .. args]);
        return code == 0 ? stdout : throw new InvalidOperationException($"tmux {string.Join(' ', args)}: {stderr.Trim()}");
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
