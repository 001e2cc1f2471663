using Nefele.Supervision;
using Nefele.Validation;

namespace Nefele.Client;

/// <summary>
/// A tenant's supervisors. A durable supervisor (<see cref="StartAsync"/>) runs in the cluster as a grain
/// with persisted state: it keeps supervising when the program that started it ends, and when the node
/// it runs on dies it carries on from another node. A program-local one (<see cref="StartLocalAsync"/>) runs
/// in this program and ends with it. Both follow OTP: see <see cref="SupervisorSpec"/>.
/// </summary>
public sealed class NefeleSupervisors
{
    private readonly IGrainFactory _grains;
    private readonly NefeleTenant _tenant;

    internal NefeleSupervisors(IGrainFactory grains, NefeleTenant tenant)
    {
        _grains = grains;
        _tenant = tenant;
    }

    /// <summary>
    /// Starts a durable supervisor: its children start in order, and it answers once all run.
    /// Throws <see cref="NefeleException"/>: <see cref="ErrorCodes.BadRequest"/> for a bad spec or name,
    /// <see cref="ErrorCodes.SupervisorExists"/> when one of that name runs with another spec (the same
    /// spec answers its status), <see cref="ErrorCodes.FailedToStart"/> when a child could not start
    /// (those started were stopped in reverse order, and no supervisor is kept).
    /// </summary>
    /// <param name="name">The supervisor's name in the tenant (1-64 letters, digits, '.', '_' or '-').</param>
    /// <param name="spec">Its tree.</param>
    /// <param name="ct">Cancels waiting for the answer.</param>
    /// <returns>Its status, every child running.</returns>
    public Task<SupervisorStatus> StartAsync(string name, SupervisorSpec spec, CancellationToken ct = default)
    {
        SupervisorSpecs.Validate(spec);
        return Grain(name).CreateAsync(spec, ct);
    }

    /// <summary>A durable supervisor's status; <see cref="ErrorCodes.SupervisorNotFound"/> when there is none.</summary>
    /// <param name="name">The supervisor.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>Its phase, children (with NPIDs and restart counts) and end reason.</returns>
    public Task<SupervisorStatus> GetAsync(string name, CancellationToken ct = default) => Grain(name).GetAsync(ct);

    /// <summary>The names of the tenant's durable supervisors (running or ended, until deleted).</summary>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The names, sorted.</returns>
    public Task<IReadOnlyList<string>> ListAsync(CancellationToken ct = default) =>
        _grains.GetGrain<ISupervisorDirectoryGrain>(_tenant.Name).ListAsync(ct);

    /// <summary>
    /// Waits until the durable supervisor's status satisfies <paramref name="condition"/> (checked now and
    /// after every change), and answers that status.
    /// </summary>
    /// <param name="name">The supervisor.</param>
    /// <param name="condition">What to wait for, e.g. <c>s =&gt; s.Restarts &gt;= 1</c>.</param>
    /// <param name="ct">Ends the wait (give it a timeout).</param>
    /// <returns>The first status that satisfied it.</returns>
    public async Task<SupervisorStatus> WaitForAsync(string name, Func<SupervisorStatus, bool> condition, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var grain = Grain(name);
        var status = await grain.GetAsync(ct);
        while (!condition(status))
        {
            if (status.Phase == SupervisorPhase.Ended && await grain.GetAsync(ct) is { } last && last.Version == status.Version)
            {
                throw new NefeleException(ErrorCodes.NotRunning, $"supervisor {name} ended ({status.EndReason}) before the condition held");
            }

            status = await WatchOnceAsync(grain, status.Version, ct);
        }

        return status;
    }

    /// <summary>Resizes a simple_one_for_one pool: new copies start in order, the newest beyond the size stop in reverse order.</summary>
    /// <param name="name">The supervisor.</param>
    /// <param name="size">The pool's new size (0 to 10,000).</param>
    /// <param name="ct">Cancels waiting for the answer.</param>
    /// <returns>Its status once the pool has that size.</returns>
    public Task<SupervisorStatus> ResizeAsync(string name, int size, CancellationToken ct = default)
    {
        SupervisorSpecs.ValidatePoolSize(size);
        return Grain(name).ResizeAsync(size, ct);
    }

    /// <summary>Stops a durable supervisor: its children in reverse order, each with its shutdown; then it is forgotten.</summary>
    /// <param name="name">The supervisor.</param>
    /// <param name="ct">Cancels waiting for the answer.</param>
    /// <returns>False when there was no such supervisor.</returns>
    public Task<bool> StopAsync(string name, CancellationToken ct = default) => Grain(name).DeleteAsync(ct);

    /// <summary>
    /// Starts a supervisor that runs in this program (the same spec and semantics; its children are
    /// Nefele processes of the tenant) and ends with it: dispose it, or stop it, to stop its children.
    /// </summary>
    /// <param name="name">Its name (for status and messages).</param>
    /// <param name="spec">Its tree.</param>
    /// <param name="ct">Cancels the start.</param>
    /// <returns>The running supervisor, once every child runs.</returns>
    public async Task<LocalSupervisor> StartLocalAsync(string name, SupervisorSpec spec, CancellationToken ct = default)
    {
        SupervisorSpecs.ValidateName(name);
        SupervisorSpecs.Validate(spec);
        var local = new LocalSupervisor(_tenant, name, spec, TimeProvider.System);
        await local.StartAsync(ct);
        return local;
    }

    private static async Task<SupervisorStatus> WatchOnceAsync(ISupervisorGrain grain, long version, CancellationToken ct)
    {
        var failures = 0;
        while (true)
        {
            try
            {
                return await grain.WatchAsync(version, TimeSpan.FromSeconds(5), ct);
            }
            catch (Exception e) when (Errors.Transient.Is(e) && ++failures <= 60)
            {
                // The silo holding the supervisor went away: it resumes elsewhere.
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(100 * failures, 1000)), ct);
            }
        }
    }

    private ISupervisorGrain Grain(string name) => _grains.GetGrain<ISupervisorGrain>(SupervisorSpecs.Key(_tenant.Name, name));
}
