using Nefele.AppCli;
using Nefele.Cli;
using Nefele.Cli.Output;

using var interrupt = new CancellationTokenSource();
var utf8 = new System.Text.UTF8Encoding(false);
var stdout = StandardStream.Output;
using var output = new StreamWriter(stdout, utf8) { AutoFlush = false };
using var error = new StreamWriter(StandardStream.Error, utf8) { AutoFlush = true };
var status = await NefApp.RunAsync(
    args, Environment.GetEnvironmentVariable, output, stdout, error, TimeProvider.System, interrupt.Token,
    beforeWaiting: () => Console.CancelKeyPress += (_, e) =>
    {
        e.Cancel = true;
        interrupt.Cancel();
    },
    parse: NefeleCommandLine.Parse,
    program: "nefele");
await output.FlushAsync();
return status;
