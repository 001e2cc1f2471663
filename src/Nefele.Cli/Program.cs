using Nefele.Cli;

using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C stops waiting (monitor, logs -f) cleanly; the default handler would kill mid-write.
    e.Cancel = true;
    interrupt.Cancel();
};

using var stdout = Console.OpenStandardOutput();
using var output = new StreamWriter(stdout, new System.Text.UTF8Encoding(false)) { AutoFlush = false };
var status = await NefApp.RunAsync(
    args, Environment.GetEnvironmentVariable, output, stdout, Console.Error, TimeProvider.System, interrupt.Token);
await output.FlushAsync();
return status;
