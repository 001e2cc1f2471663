using System.Collections.Concurrent;
using Nefele.Supervision;

namespace Nefele.Client;

/// <summary>
/// A supervisor that runs in this program, with the same engine and semantics as the durable one: its
/// children are Nefele processes of the tenant (on any node) or nested local supervisors. It ends with
/// the program; <see cref="DisposeAsync"/> stops its children in reverse order.
/// </summary>
public sealed class LocalSupervisor : IAsyncDisposable
{
    private readonly NefeleTenant _tenant;
    private readonly SupervisorRunner _runner;
    private readonly ConcurrentDictionary<string, LocalSupervisor> _nested = new(StringComparer.Ordinal);

    internal LocalSupervisor(NefeleTenant tenant, string name, SupervisorSpec spec, TimeProvider time)
    {
        _tenant = tenant;
        Name = name;
        _runner = new SupervisorRunner(new SupervisorMachine(new SupervisorState { Tenant = tenant.Name, Name = name, Spec = spec }, time), new Host(this), time);
    }

    /// <summary>Its name.</summary>
    public string Name { get; }

    /// <summary>Completes with the reason once it has ended: it reached its restart intensity, or it was stopped.</summary>
    public Task<string> Completion => _runner.Ended;

    /// <summary>Its status now: children with their NPIDs and restart counts, phase, end reason.</summary>
    /// <returns>The status.</returns>
    public SupervisorStatus Status() => _runner.Status();

    /// <summary>Waits until the status satisfies <paramref name="condition"/> (checked now and after every change).</summary>
    /// <param name="condition">What to wait for.</param>
    /// <param name="ct">Ends the wait.</param>
    /// <returns>The first status that satisfied it.</returns>
    public async Task<SupervisorStatus> WaitForAsync(Func<SupervisorStatus, bool> condition, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var status = _runner.Status();
        while (!condition(status))
        {
            if (status.Phase == SupervisorPhase.Ended)
            {
                throw new NefeleException(ErrorCodes.NotRunning, $"supervisor {Name} ended ({status.EndReason}) before the condition held");
            }

            status = await _runner.WatchAsync(status.Version, TimeSpan.FromSeconds(5), ct);
        }

        return status;
    }

    /// <summary>Resizes a simple_one_for_one pool.</summary>
    /// <param name="size">The pool's new size.</param>
    /// <param name="ct">Cancels waiting.</param>
    /// <returns>The status once the pool has that size.</returns>
    public async Task<SupervisorStatus> ResizeAsync(int size, CancellationToken ct = default)
    {
        await _runner.ResizeAsync(size, ct);
        return _runner.Status();
    }

    /// <summary>Stops its children in reverse order, each with its shutdown, and ends it.</summary>
    /// <param name="ct">Cancels waiting for the stop to begin.</param>
    /// <returns>When every child has ended.</returns>
    public Task StopAsync(CancellationToken ct = default) => _runner.StopAsync(ct);

    /// <summary>Stops it (see <see cref="StopAsync"/>).</summary>
    /// <returns>When every child has ended.</returns>
    public async ValueTask DisposeAsync() => await _runner.StopAsync(CancellationToken.None);

    internal Task StartAsync(CancellationToken ct) => _runner.StartAsync(ct);

    /// <summary>The children, through the SDK's calls in the supervisor's tenant.</summary>
    private sealed class Host(LocalSupervisor owner) : ISupervisorChildHost
    {
        public async Task<string> StartAsync(ChildSpec child, string requestId, CancellationToken ct)
        {
            if (child.Supervisor is { } spec)
            {
                var name = owner.Name + "." + child.Id;
                var nested = new LocalSupervisor(owner._tenant, name, spec, TimeProvider.System);
                await nested.StartAsync(ct);
                owner._nested[name] = nested;
                return name;
            }

            return await owner._tenant.SpawnAsync(child.Process!, requestId, ct);
        }

        public async Task<ChildExit> WaitEndAsync(string reference, ChildSpec child, CancellationToken ct)
        {
            if (owner._nested.TryGetValue(reference, out var nested))
            {
                var reason = await nested.Completion.WaitAsync(ct);
                owner._nested.TryRemove(reference, out _);
                return ChildExit.SupervisorEnded(reason);
            }

            return ChildExit.Of(await owner._tenant.WaitAsync(reference, ct));
        }

        public Task SignalAsync(string reference, int signal, CancellationToken ct) => owner._tenant.KillAsync(reference, signal, ct);

        public Task StopSupervisorAsync(string reference, CancellationToken ct) =>
            owner._nested.TryGetValue(reference, out var nested) ? nested.StopAsync(ct) : Task.CompletedTask;

        public Task SaveAsync(SupervisorState state) => Task.CompletedTask;
    }
}
