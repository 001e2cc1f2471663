using Nefele.Cli;
using Nefele.Cli.Commands;
using Nefele.Cli.Parsing;
using Nefele.Client;
using Nefele.Images;
using Nefele.Processes;

namespace Nefele.AppCli;

/// <summary>
/// commit SOURCE NAME[:TAG]: SOURCE is an NPID (a process that runs or ran from an image), or APP,
/// an application of <c>nefele start</c>, whose current (or last) process is taken. The image it
/// runs from plus the changes in that image's development overlay on its node become NAME:TAG.
/// </summary>
internal sealed record AppCommitCommand(string Source, ImageReference Target) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var npid = Source;
        if (!Npid.IsWellFormed(Source))
        {
            SupervisorStatus status;
            try
            {
                status = await context.Supervisors("commit").GetSupervisorAsync(AppNames.Supervisor(Source), ct).ConfigureAwait(false);
            }
            catch (Nefele.Cli.Transport.NefeleApiException e) when (e.Code == ErrorCodes.SupervisorNotFound)
            {
                throw new UsageException($"commit: '{Source}' is neither an NPID nor an application of this tenant (nefele status lists them)");
            }

            npid = status.Children.Count > 0 && status.Children[0].Npid is { } child
                ? child
                : throw new UsageException($"commit: application {Source} has no process yet (nefele status shows its phase); name an NPID instead");
        }

        return await new ImageCommitCommand(npid, Target).RunAsync(context, ct).ConfigureAwait(false);
    }
}
