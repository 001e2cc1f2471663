using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Nefele.HostAgent;

try
{
    using var host = HostAgentApp.Build(args);
    await host.RunAsync();
    return 0;
}
catch (ArgumentException e)
{
    await Console.Error.WriteLineAsync($"nefele-hostd: {e.Message}");
    return 2;
}
catch (HostAgentStartupException e)
{
    await Console.Error.WriteLineAsync($"nefele-hostd: {e.Message}");
    return 2;
}
catch (OptionsValidationException e)
{
    foreach (var failure in e.Failures)
    {
        await Console.Error.WriteLineAsync($"nefele-hostd: {failure}");
    }

    return 2;
}
