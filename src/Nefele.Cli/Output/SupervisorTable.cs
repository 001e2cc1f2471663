using System.Globalization;
using Nefele.Client;
using Nefele.Validation;

namespace Nefele.Cli.Output;

/// <summary>Supervisors as nef prints them: one row each for ls; for show, the supervisor's lines and a row per child.</summary>
internal static class SupervisorTable
{
    private static readonly string[] ListHeader = ["NAME", "PHASE", "STRATEGY", "CHILDREN", "RESTARTS", "NODE"];

    private static readonly string[] ChildHeader = ["ID", "NPID", "PHASE", "RESTART", "RESTARTS", "LAST END"];

    public static Task WriteListAsync(TextWriter output, IEnumerable<SupervisorStatus> supervisors)
    {
        var rows = new List<string[]> { ListHeader };
        rows.AddRange(supervisors.Select(s => new[]
        {
            s.Name,
            Phase(s.Phase),
            s.Strategy.Wire(),
            $"{s.Children.Count(c => c.Phase == ChildPhase.Running)}/{s.Children.Count}",
            s.Restarts.ToString(CultureInfo.InvariantCulture),
            s.Node ?? "-",
        }));
        return TextTable.WriteAsync(output, rows);
    }

    public static async Task WriteShowAsync(TextWriter output, SupervisorStatus s)
    {
        await output.WriteLineAsync($"name:      {s.Name}").ConfigureAwait(false);
        await output.WriteLineAsync($"phase:     {Phase(s.Phase)}{(s.EndReason is { } why ? " (" + why + ")" : string.Empty)}").ConfigureAwait(false);
        await output.WriteLineAsync($"strategy:  {s.Strategy.Wire()}{(s.Strategy == SupervisorStrategy.SimpleOneForOne ? $", pool of {s.Children.Count(c => c.Phase is ChildPhase.Running or ChildPhase.Restarting)}" : string.Empty)}").ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"intensity: at most {s.Spec.MaxRestarts} restarts in {s.Spec.PeriodSeconds} s")).ConfigureAwait(false);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"restarts:  {s.Restarts}")).ConfigureAwait(false);
        await output.WriteLineAsync($"node:      {s.Node ?? "-"}").ConfigureAwait(false);
        await output.WriteLineAsync().ConfigureAwait(false);
        var rows = new List<string[]> { ChildHeader };
        rows.AddRange(s.Children.Select(c => new[]
        {
            c.Id,
            c.Npid ?? "-",
            Phase(c.Phase),
            Restart(c.Restart),
            c.Restarts.ToString(CultureInfo.InvariantCulture),
            c.LastEnd ?? "-",
        }));
        await TextTable.WriteAsync(output, rows).ConfigureAwait(false);
    }

    private static string Phase(SupervisorPhase phase) => phase switch
    {
        SupervisorPhase.Starting => "starting",
        SupervisorPhase.Running => "running",
        _ => "ended",
    };

    private static string Phase(ChildPhase phase) => phase switch
    {
        ChildPhase.Running => "running",
        ChildPhase.Restarting => "restarting",
        ChildPhase.Stopping => "stopping",
        _ => "ended",
    };

    private static string Restart(RestartType restart) => restart switch
    {
        RestartType.Permanent => "permanent",
        RestartType.Transient => "transient",
        _ => "temporary",
    };
}
