using Nefele.Cli;
using Nefele.Cli.Output;

using var interrupt = new CancellationTokenSource();
var utf8 = new System.Text.UTF8Encoding(false);
// Not Console.Out and Console.Error: those first work out the terminal's encoding and set the
// terminal up, and their async writes go through the thread pool; nef writes UTF-8 anyway.
var stdout = StandardStream.Output;
using var output = new StreamWriter(stdout, utf8) { AutoFlush = false };
using var error = new StreamWriter(StandardStream.Error, utf8) { AutoFlush = true };
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
