using Nefele.Client;

// A plain program that uses the SDK as a developer's would: connect, call, then wait for the
// user. The tests signal it and read its stdout: Ctrl-C and SIGTERM must end it as they end
// any program, and nothing but its own line may reach stdout.
if (args.Length != 2)
{
    await Console.Error.WriteLineAsync("usage: nefele-sdk-probe <gateway host:port> <api key>");
    return 2;
}

await using var nefele = await NefeleConnection.ConnectAsync(new NefeleClientOptions { Gateways = { args[0] }, ApiKey = args[1] });
var processes = await nefele.Tenant().PsAsync();
Console.WriteLine($"connected, {processes.Count} processes");
await Task.Delay(Timeout.Infinite);
return 0;
