using Nefele.Cli;

using var interrupt = new CancellationTokenSource();
var utf8 = new System.Text.UTF8Encoding(false);
using var stdout = Console.OpenStandardOutput();
using var output = new StreamWriter(stdout, utf8) { AutoFlush = false };
// Not Console.Error: that one first works out the terminal's encoding; nef writes UTF-8 anyway.
using var error = new StreamWriter(Console.OpenStandardError(), utf8) { AutoFlush = true };
var status = await NefApp.RunAsync(
    args, Environment.GetEnvironmentVariable, output, stdout, error, TimeProvider.System, interrupt.Token,
    beforeWaiting: () => Console.CancelKeyPress += (_, e) =>
    {
        // First Ctrl+C stops waiting (monitor, logs -f, spawn --wait) cleanly; the default handler
        // would kill mid-write. A quick command keeps the default: it costs nothing at start-up.
        e.Cancel = true;
        interrupt.Cancel();
    });
await output.FlushAsync();
return status;
