using System.Runtime.InteropServices;
using Nefele.Client;
using Nefele.Example.Webserver;

// The messaging walk-through (README, "Messaging"): a durable supervisor keeps a pool of C workers
// (worker.c) running on any node; they register the name "webserver", and this program sends them
// requests by that name from a mailbox of its own, until Ctrl-C (or --requests are answered).
ClientOptions options;
try
{
    options = ClientOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"nefele-webserver: {e.Message}\n{ClientOptions.Usage}");
    return 64;
}

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
{
    c.Cancel = true;
    stop.Cancel();
});

// The node on this machine, given gateways, or a cluster through its Redis; the key as nef finds it.
await using var nefele = await options.ConnectAsync();
var tenant = nefele.Tenant(options.Tenant);

// The pool: simple_one_for_one, N copies of the worker, each restarted whenever it ends
// (permanent). The supervisor is a grain with persisted state: it goes on supervising when this
// program ends, and when the node it runs on dies it carries on from another node. Its restart
// intensity allows each worker to be restarted twice within 10 s (a lost node takes several at once).
var spec = new SupervisorSpec
{
    Strategy = SupervisorStrategy.SimpleOneForOne,
    PoolSize = options.Workers,
    MaxRestarts = 2 * options.Workers,
    PeriodSeconds = 10,
    Children =
    [
        new ChildSpec
        {
            Id = "worker",
            Restart = RestartType.Permanent,
            Shutdown = "2s",
            Process = new ProcessSpec { Path = options.WorkerPath, Name = "webserver-worker" },
        },
    ],
};
var status = await tenant.Supervisors.StartAsync(options.Supervisor, spec, stop.Token);
Console.WriteLine($"supervisor {status.Name}: {status.Children.Count} workers {string.Join(' ', status.Children.Select(c => c.Npid))}");

var run = new RequestLoop(tenant, options, Console.Out);
int exitCode;
try
{
    var summary = await run.RunAsync(stop.Token);
    Console.WriteLine(summary);
    exitCode = summary.Unanswered == 0 ? 0 : 1;
}
finally
{
    // Ctrl-C ends the demo: the supervisor stops its workers in reverse order (SIGTERM, then
    // SIGKILL after 2 s) and is forgotten; their names die with them.
    if (!options.KeepSupervisor)
    {
        await tenant.Supervisors.StopAsync(options.Supervisor, CancellationToken.None);
        Console.WriteLine($"supervisor {options.Supervisor} stopped");
    }
}

return exitCode;
