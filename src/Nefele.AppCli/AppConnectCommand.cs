using Nefele.Cli;
using Nefele.Cli.Commands;
using Nefele.Cli.Parsing;
using Nefele.Cli.Terminal;
using Nefele.Cli.Transport;
using Nefele.Client;

namespace Nefele.AppCli;

/// <summary>
/// connect APP [--shell PATH]: an interactive shell next to the application, as SSH to its machine
/// would give: a tty process running PATH (default /bin/sh) from the application's image (so in the
/// tenant's container of that image) on the node where the application's process runs (affinity
/// npid:ROOT), attached (nef attach); the shell is killed when the attach ends, however it ends.
/// </summary>
internal sealed record AppConnectCommand(string App, string Shell) : INefCommand
{
    public const string DefaultShell = "/bin/sh";

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        SupervisorStatus status;
        try
        {
            status = await context.Supervisors("connect").GetSupervisorAsync(AppNames.Supervisor(App), ct).ConfigureAwait(false);
        }
        catch (NefeleApiException e) when (e.Code == ErrorCodes.SupervisorNotFound)
        {
            throw new UsageException($"connect: '{App}' is not an application of this tenant (nefele status lists them)");
        }

        var root = status.Children.Count > 0 && status.Children[0].Npid is { } child
            ? child
            : throw new NefeleApiException($"connect: application {App} has no process now (nefele status shows its phase)");
        var attach = context.Transport as IAttachTransport
            ?? throw new UsageException("connect: not available inside a Nefele process; run it from outside with an API key");
        var info = await attach.GetProcessAsync(root, ct).ConfigureAwait(false);
        if (info.State != ProcessState.Running)
        {
            throw new NefeleApiException($"connect: application {App}'s process {root} is {info.State}, not Running");
        }

        var shell = new ProcessSpec
        {
            Path = Shell,
            Image = status.Spec.Children.Count > 0 ? status.Spec.Children[0].Process?.Image : null,
            Tty = true,
            // A shell of the image's own, which may have no loader for the shim.
            NoHandshake = true,
            Affinity = ["npid:" + root],
            Env = new Dictionary<string, string> { ["TERM"] = Environment.GetEnvironmentVariable("TERM") is { Length: > 0 } term ? term : "xterm" },
        };
        var outcome = await context.Transport.SpawnAsync(new SpawnBatch([shell], 1, AllowPartial: false, RequestId: null), ct).ConfigureAwait(false);
        if (outcome.Npids.Count != 1)
        {
            throw new NefeleApiException($"connect: the shell was not started: {outcome.FirstRejection ?? "refused"}");
        }

        var npid = outcome.Npids[0];
        try
        {
            return await new AttachCommand(npid, readOnly: false, DetachKeys.Parse(DetachKeys.Default)).RunAsync(context, ct).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                await context.Transport.KillAsync([npid], Signals.SigKill, CancellationToken.None).ConfigureAwait(false);
            }
            catch (NefeleApiException e) when (e.Code is ErrorCodes.NotRunning or ErrorCodes.NpidNotFound)
            {
                // The shell ended first (exit): nothing to kill.
            }
        }
    }
}
