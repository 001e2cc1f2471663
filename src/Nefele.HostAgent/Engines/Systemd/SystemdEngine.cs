using System.Globalization;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using Nefele.HostAgent.Interop;
using Tmds.DBus.Protocol;

namespace Nefele.HostAgent.Engines.Systemd;

/// <summary>
/// Runs each process as a transient unit of a systemd (the host's, a testbed's or a container's),
/// over one long-lived D-Bus connection: StartTransientUnit with ExecStart, Environment,
/// WorkingDirectory, User/Group, a slice per tenant, the cgroup limits and rlimits, and
/// stdout+stderr as one socket passed by descriptor, whose other end hostd reads.
/// </summary>
/// <remarks>
/// <para>
/// Starts wait for the job's JobRemoved (Type=exec: the job is done once exec succeeded). Exits
/// come from PropertiesChanged of the unit (ExecMainCode, ExecMainStatus, Result), never by
/// polling. Units are RemainAfterExit, so the unit and exit status of a process that ends while
/// no hostd watches stay, across a hostd restart: recovery lists the node's units
/// (ListUnitsByPatterns), adopts the running ones and reports the exits of those that ended
/// meanwhile. The output of an adopted process is not captured again (its socket's reader died
/// with the previous hostd; systemd ignores SIGPIPE for services, so the process runs on).
/// </para>
/// <para>
/// An exit this engine reports is final, so the unit goes at once (ResetFailedUnit, StopUnit: what
/// the process left in it is stopped with it) rather than when the exit is acknowledged. Besides
/// keeping ended units from piling up, this closes systemd's copy of the output socket, which it
/// holds while the unit is active: the output reaches its end with the process, not a drain
/// grace later.
/// </para>
/// <para>
/// When the bus closes, calls fail at once with clear errors while the connection is rebuilt;
/// then every unit is checked again, so no exit is missed.
/// </para>
/// </remarks>
public sealed class SystemdEngine : IProcessEngine, IProcessOwnership
{
    private const string Setpriv = "/usr/bin/setpriv";
    private const string Env = "/usr/bin/env";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan RecoverConnectTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DisposeDropTimeout = TimeSpan.FromSeconds(2);
    private static readonly string[] LimitNames =
        ["CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE", "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO", "RTTIME"];

    private readonly SystemdBus bus;
    private readonly string node;
    private readonly ILogger logger;
    private readonly UnitCgroups cgroups;
    private readonly Lock gate = new();
    private readonly Dictionary<string, UnitState> byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UnitState> byPath = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UnitState> byCgroup = new(StringComparer.Ordinal);
    private readonly HashSet<string> abandoned = new(StringComparer.Ordinal);
    private readonly Channel<ProcessExit> exits = Channel.CreateUnbounded<ProcessExit>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false });
    private readonly string root;
    private readonly bool early;
    private Task? connecting;

    /// <param name="busAddress">The D-Bus address of systemd's bus.</param>
    /// <param name="node">The node's name: recorded in each unit, so recovery adopts only this node's.</param>
    public SystemdEngine(string busAddress, string node, ILogger<SystemdEngine> logger)
        : this(busAddress, node, logger, root: "", early: false)
    {
    }

    /// <param name="busAddress">The D-Bus address of systemd's bus.</param>
    /// <param name="node">The node's name: recorded in each unit, so recovery adopts only this node's.</param>
    /// <param name="root">The root its processes see, as hostd sees it (a container's <c>/proc/&lt;leader&gt;/root</c>): programs and working directories are checked under it; "" for hostd's own root.</param>
    /// <param name="early">Units have no default dependencies, so they start while systemd is still booting (a container's first process does not wait for basic.target).</param>
    internal SystemdEngine(string busAddress, string node, ILogger<SystemdEngine> logger, string root, bool early)
    {
        this.node = node;
        this.root = root;
        this.early = early;
        this.logger = logger;
        bus = new SystemdBus(busAddress, logger);
        bus.JobRemoved += OnJobRemoved;
        bus.PropertiesChanged += OnPropertiesChanged;
        bus.Reconnected += RecheckAsync;
        cgroups = UnitCgroups.For(busAddress);
        Capabilities = new EngineCapabilities("systemd", Recover: true, ResourceLimits: true);
    }

    public EngineCapabilities Capabilities { get; }

    /// <summary>The bus address in use.</summary>
    public string BusAddress => bus.Address;

    public async Task<StartedProcess> StartAsync(LaunchSpec spec, CancellationToken ct)
    {
        await ConnectedAsync(ct);
        var program = spec.Path.Contains('/', StringComparison.Ordinal) ? spec.Path : ProgramSearch.Resolve(spec.Path, spec.Environment);

        // Checked before the unit: behind setpriv, a missing program would be a start that exits 127, not a refusal.
        if (CheckProgram(spec, program, root) is { } refusal)
        {
            throw refusal;
        }

        var name = UnitNames.Unit(spec.Npid);
        var unit = new UnitState(name, SystemdBus.UnitPath(name));
        lock (gate)
        {
            if (!byName.TryAdd(name, unit))
            {
                throw new SpawnRejectedException($"spawn rejected: {spec.Npid} already runs here as unit {name}");
            }

            byPath[unit.Path] = unit;
        }

        var output = OpenOutput(out var childOut, out var childErr);
        string result;
        try
        {
            await bus.CallAsync((ref MessageWriter w) => WriteStart(ref w, spec, name, program, childOut, childErr), static (m, _) => m.GetBodyReader().ReadObjectPathAsString(), $"starting unit {name}");
            result = await unit.Job.Task.WaitAsync(StartTimeout, ct);
        }
        catch (Exception e)
        {
            childOut.Dispose();
            childErr.Dispose();
            output.Dispose();
            Forget(unit);
            throw e switch
            {
                DBusErrorReplyException reply => new SpawnRejectedException($"spawn rejected: systemd refused unit {name}: {reply.ErrorMessage}", e),
                SystemdBusException bad => Abandon(name, bad),
                TimeoutException => Abandon(name, new SystemdBusException($"systemd did not start unit {name} within {StartTimeout.TotalSeconds:0} s")),
                OperationCanceledException => e,
                _ => new SpawnRejectedException($"spawn rejected: unit {name}: {e.Message}", e),
            };
        }

        try
        {
            int mainPid;
            string controlGroup;
            if (result == "done")
            {
                // Two small reads rather than GetAll's two hundred properties: this is the spawn path.
                var pid = bus.GetPropertyAsync(unit.Path, SystemdBus.ServiceInterface, "ExecMainPID");
                var cgroup = bus.GetPropertyAsync(unit.Path, SystemdBus.ServiceInterface, "ControlGroup");
                mainPid = (int)(await pid).GetUInt32();
                controlGroup = (await cgroup).GetString();
            }
            else
            {
                var service = await bus.GetAllAsync(unit.Path, SystemdBus.ServiceInterface);
                mainPid = (int)Get(service, "ExecMainPID", v => v.GetUInt32());
                controlGroup = Get(service, "ControlGroup", v => v.GetString()) ?? "";
                var code = Get(service, "ExecMainCode", v => v.GetInt32());
                var status = Get(service, "ExecMainStatus", v => v.GetInt32());
                if (!Ran(mainPid, code, status))
                {
                    Forget(unit);
                    _ = DropUnitAsync(name);
                    output.Dispose();
                    throw new SpawnRejectedException(DescribeFailure(spec, program, root, name, result, code, status, Get(service, "Result", v => v.GetString())));
                }

                // It ran and ended before its start job did: its exit comes as any other.
                _ = CheckAsync(unit);
            }

            var hostPid = cgroups.HostPid(mainPid, controlGroup);
            ProcessExit? early;
            lock (gate)
            {
                unit.ControlGroup = controlGroup;
                unit.HostPid = hostPid;
                if (controlGroup.Length > 0)
                {
                    byCgroup[controlGroup] = unit;
                }

                unit.Started = true;
                early = unit.PendingExit;
                unit.ExitReported = early is not null;
            }

            if (early is not null)
            {
                Ended(unit, early);
            }

            logger.LogDebug("Started {Npid} as unit {Unit}, pid {Pid} (pid {UnitPid} in systemd's namespace)", spec.Npid, name, hostPid, mainPid);
            return new StartedProcess(new LocalProcessId(name), hostPid, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), output);
        }
        catch (Exception e) when (e is SystemdBusException or DBusErrorReplyException)
        {
            output.Dispose();
            Forget(unit);
            throw e is SystemdBusException bad ? Abandon(name, bad) : new SpawnRejectedException($"spawn rejected: unit {name}: {e.Message}", e);
        }
    }

    public async Task<bool> SignalAsync(LocalProcessId id, int signal, SignalTarget target, CancellationToken ct)
    {
        UnitState? unit;
        lock (gate)
        {
            unit = byName.GetValueOrDefault(id.Value);
        }

        if (unit is null || (unit.ExitReported && target == SignalTarget.MainProcess))
        {
            return false;
        }

        try
        {
            await bus.CallAsync(
                (ref MessageWriter w) =>
                {
                    w.WriteMethodCallHeader(SystemdBus.Service, SystemdBus.ManagerPath, SystemdBus.ManagerInterface, "KillUnit", "ssi");
                    w.WriteString(unit.Name);
                    w.WriteString(target == SignalTarget.All ? "all" : "main");
                    w.WriteInt32(signal);
                },
                $"signalling unit {unit.Name}");
            return true;
        }
        catch (DBusErrorReplyException)
        {
            // No such unit, or no process left in it.
            return false;
        }
        catch (SystemdBusException e)
        {
            logger.LogWarning("Signal {Signal} to {Unit} not sent: {Error}", signal, unit.Name, e.Message);
            return false;
        }
    }

    public async IAsyncEnumerable<ProcessExit> ExitsAsync([EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var exit in exits.Reader.ReadAllAsync(ct))
        {
            yield return exit;
        }
    }

    /// <summary>
    /// Connects, trying again every <paramref name="retry"/> for up to <paramref name="within"/>:
    /// for a bus that has only just appeared (a booted container's, whose daemon systemd starts on
    /// the first connection). Throws the last <see cref="SpawnRejectedException"/> when it stays unreachable.
    /// </summary>
    internal async Task ConnectWithinAsync(TimeSpan within, TimeSpan retry, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            try
            {
                await ConnectedAsync(ct);
                return;
            }
            catch (SpawnRejectedException e) when (DateTime.UtcNow < deadline)
            {
                logger.LogDebug("Waiting for the systemd bus: {Error}", e.Message);
                await Task.Delay(retry, ct);
            }
        }
    }

    public async Task<IReadOnlyList<RecoveredProcess>> RecoverAsync(CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + RecoverConnectTimeout;
        while (true)
        {
            try
            {
                await ConnectedAsync(ct);
                break;
            }
            catch (SpawnRejectedException e) when (DateTime.UtcNow < deadline)
            {
                logger.LogWarning("Waiting for the systemd bus: {Error}", e.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
            }
            catch (SpawnRejectedException e)
            {
                throw new SystemdBusException($"recovery: {e.Message}", e);
            }
        }

        var units = await bus.CallAsync(
            (ref MessageWriter w) =>
            {
                w.WriteMethodCallHeader(SystemdBus.Service, SystemdBus.ManagerPath, SystemdBus.ManagerInterface, "ListUnitsByPatterns", "asas");
                w.WriteArray(Array.Empty<string>());
                w.WriteArray(new[] { UnitNames.Prefix + "*" + UnitNames.Suffix });
            },
            static (m, _) =>
            {
                var r = m.GetBodyReader();
                var list = new List<(string Name, string Description, string Path)>();
                var end = r.ReadArrayStart(DBusType.Struct);
                while (r.HasNext(end))
                {
                    r.AlignStruct();
                    var name = r.ReadString();
                    var description = r.ReadString();
                    r.ReadString();
                    r.ReadString();
                    r.ReadString();
                    r.ReadString();
                    var path = r.ReadObjectPathAsString();
                    r.ReadUInt32();
                    r.ReadString();
                    r.ReadObjectPath();
                    list.Add((name, description, path));
                }

                return list;
            },
            "listing the node's units");

        var recovered = new List<RecoveredProcess>();
        var ended = new List<(UnitState Unit, int Code, int Status, string Result)>();
        foreach (var (name, description, path) in units)
        {
            if (UnitNames.Parse(description) is not { } facts || facts.Node != node)
            {
                continue;
            }

            Dictionary<string, VariantValue> service;
            try
            {
                service = await bus.GetAllAsync(path, SystemdBus.ServiceInterface);
            }
            catch (DBusErrorReplyException)
            {
                continue;
            }

            var unit = new UnitState(name, path) { Started = true };
            var mainPid = (int)Get(service, "ExecMainPID", v => v.GetUInt32());
            unit.ControlGroup = Get(service, "ControlGroup", v => v.GetString()) ?? "";
            unit.HostPid = cgroups.HostPid(mainPid, unit.ControlGroup);
            var startedUs = Get(service, "ExecMainStartTimestamp", v => v.GetUInt64());
            lock (gate)
            {
                if (!byName.TryAdd(name, unit))
                {
                    continue;
                }

                byPath[path] = unit;
                if (unit.ControlGroup.Length > 0)
                {
                    byCgroup[unit.ControlGroup] = unit;
                }
            }

            var started = new StartedProcess(new LocalProcessId(name), unit.HostPid, (long)(startedUs / 1000), Stream.Null);
            recovered.Add(new RecoveredProcess(started, facts.Npid, facts.Tenant, facts.Uid, facts.Gid));
            var code = Get(service, "ExecMainCode", v => v.GetInt32());
            if (code is 1 or 2 or 3)
            {
                ended.Add((unit, code, Get(service, "ExecMainStatus", v => v.GetInt32()), Get(service, "Result", v => v.GetString()) ?? ""));
            }
        }

        // Exits of processes that ended while no hostd ran: reported now, after their adoption.
        foreach (var (unit, code, status, result) in ended)
        {
            Exited(unit, code, status, result);
        }

        logger.LogInformation("Adopted {Count} units of node {Node} from systemd ({Ended} had ended)", recovered.Count, node, ended.Count);
        return recovered;
    }

    public async ValueTask ReleaseAsync(LocalProcessId id)
    {
        UnitState? unit;
        Task? dropping;
        lock (gate)
        {
            unit = byName.GetValueOrDefault(id.Value);
            dropping = unit?.Dropping;
        }

        if (unit is null)
        {
            return;
        }

        // An ended unit goes when its exit is reported (awaited here); one released before its end goes now.
        Forget(unit);
        await (dropping ?? DropUnitAsync(unit.Name));
    }

    public ProcessUsageSample? Usage(LocalProcessId id)
    {
        string? controlGroup;
        lock (gate)
        {
            controlGroup = byName.GetValueOrDefault(id.Value)?.ControlGroup;
        }

        if (string.IsNullOrEmpty(controlGroup))
        {
            return null;
        }

        if (cgroups.Directory("memory", controlGroup) is { } memory)
        {
            var cpu = cgroups.Directory("cpuacct", controlGroup) ?? cgroups.Directory("cpu,cpuacct", controlGroup);
            return new ProcessUsageSample(
                cpu is null ? 0 : Cgroups.CgroupFiles.ReadLong(Path.Combine(cpu, "cpuacct.usage")),
                Cgroups.CgroupFiles.ReadLong(Path.Combine(memory, "memory.usage_in_bytes")));
        }

        if ((cgroups.Directory("", controlGroup) ?? cgroups.Directory("unified", controlGroup)) is { } unified)
        {
            return new ProcessUsageSample(
                Cgroups.CgroupFiles.ReadKey(Path.Combine(unified, "cpu.stat"), "usage_usec") * 1000,
                Cgroups.CgroupFiles.ReadLong(Path.Combine(unified, "memory.current")));
        }

        return null;
    }

    public LocalProcessId? OwnerOf(int hostPid)
    {
        if (cgroups.ControlGroupOf(hostPid) is not { } controlGroup)
        {
            return null;
        }

        lock (gate)
        {
            // A process's children may sit in sub-cgroups of its unit.
            for (var cg = controlGroup; cg.Length > 0; cg = cg[..Math.Max(0, cg.LastIndexOf('/'))])
            {
                if (byCgroup.TryGetValue(cg, out var unit))
                {
                    return new LocalProcessId(unit.Name);
                }
            }
        }

        return null;
    }

    public async ValueTask DisposeAsync()
    {
        // Removals of ended units still on their way finish first (bounded): none is left behind in systemd.
        Task[] dropping;
        lock (gate)
        {
            dropping = [.. byName.Values.Select(u => u.Dropping).OfType<Task>()];
        }

        try
        {
            await Task.WhenAll(dropping).WaitAsync(DisposeDropTimeout);
        }
        catch (TimeoutException)
        {
            logger.LogWarning("Ended units not all removed from systemd within {Seconds} s: the next hostd's recovery removes them", DisposeDropTimeout.TotalSeconds);
        }

        await bus.DisposeAsync();
        exits.Writer.TryComplete();
    }

    // ---- the bus ---------------------------------------------------------------------

    private async Task ConnectedAsync(CancellationToken ct)
    {
        Task attempt;
        lock (gate)
        {
            attempt = connecting ??= bus.ConnectAsync(CancellationToken.None);
        }

        try
        {
            await attempt.WaitAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            lock (gate)
            {
                if (ReferenceEquals(connecting, attempt))
                {
                    connecting = null;
                }
            }

            throw new SpawnRejectedException($"spawn rejected: the systemd bus at {bus.Address} is unreachable: {e.Message}", e);
        }
    }

    private void OnJobRemoved(string unitName, string result)
    {
        UnitState? unit;
        lock (gate)
        {
            unit = byName.GetValueOrDefault(unitName);
        }

        unit?.Job.TrySetResult(result);
    }

    private void OnPropertiesChanged(string path, string iface, Dictionary<string, VariantValue> changed)
    {
        UnitState? unit;
        lock (gate)
        {
            unit = byPath.GetValueOrDefault(path);
        }

        if (unit is null || unit.ExitReported)
        {
            return;
        }

        if (iface == SystemdBus.ServiceInterface && changed.TryGetValue("ExecMainCode", out var code) && code.GetInt32() is 1 or 2 or 3)
        {
            Exited(
                unit,
                code.GetInt32(),
                changed.TryGetValue("ExecMainStatus", out var status) ? status.GetInt32() : 0,
                changed.TryGetValue("Result", out var result) ? result.GetString() : "");
        }
        else if (iface == SystemdBus.UnitInterface && changed.TryGetValue("SubState", out var sub) && sub.GetString() is "exited" or "failed" or "dead")
        {
            _ = CheckAsync(unit);
        }
    }

    /// <summary>Reads a unit's exit status and reports it if its process has ended.</summary>
    private async Task CheckAsync(UnitState unit)
    {
        try
        {
            var service = await bus.GetAllAsync(unit.Path, SystemdBus.ServiceInterface);
            var code = Get(service, "ExecMainCode", v => v.GetInt32());
            if (code is 1 or 2 or 3)
            {
                Exited(unit, code, Get(service, "ExecMainStatus", v => v.GetInt32()), Get(service, "Result", v => v.GetString()) ?? "");
            }
        }
        catch (DBusErrorReplyException e) when (unit.Started)
        {
            // The unit is gone (someone reset or stopped it): its status with it.
            logger.LogWarning("Unit {Unit} disappeared ({Error}): its exit status is lost", unit.Name, e.ErrorMessage);
            Report(unit, new ProcessExit(new LocalProcessId(unit.Name), -1, 0, false, false, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        }
        catch (Exception e) when (e is SystemdBusException or DBusErrorReplyException)
        {
            logger.LogDebug("Could not check unit {Unit}: {Error}", unit.Name, e.Message);
        }
    }

    /// <summary>After a reconnect: every unit checked again (an exit while the bus was away sent no signal here), abandoned starts undone.</summary>
    private async Task RecheckAsync()
    {
        List<UnitState> live;
        List<string> dropped;
        lock (gate)
        {
            live = byName.Values.Where(u => u.Started && !u.ExitReported).ToList();
            dropped = [.. abandoned];
            abandoned.Clear();
        }

        foreach (var name in dropped)
        {
            await DropUnitAsync(name);
        }

        await Task.WhenAll(live.Select(CheckAsync));
    }

    private void Exited(UnitState unit, int code, int status, string result)
    {
        var exit = new ProcessExit(
            new LocalProcessId(unit.Name),
            code == 1 ? status : -1,
            code == 1 ? 0 : status,
            code == 3,
            result == "oom-kill",
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        Report(unit, exit);
    }

    private void Report(UnitState unit, ProcessExit exit)
    {
        lock (gate)
        {
            if (unit.ExitReported)
            {
                return;
            }

            if (!unit.Started)
            {
                // Held until the start is decided: a failed start reports no exit.
                unit.PendingExit ??= exit;
                return;
            }

            unit.ExitReported = true;
        }

        Ended(unit, exit);
    }

    /// <summary>Removes a started unit whose exit is known (systemd's copy of the output socket goes with it) and reports the exit.</summary>
    private void Ended(UnitState unit, ProcessExit exit)
    {
        var dropping = DropUnitAsync(unit.Name);
        lock (gate)
        {
            unit.Dropping = dropping;
        }

        exits.Writer.TryWrite(exit);
    }

    private void Forget(UnitState unit)
    {
        lock (gate)
        {
            if (byName.TryGetValue(unit.Name, out var known) && ReferenceEquals(known, unit))
            {
                byName.Remove(unit.Name);
                byPath.Remove(unit.Path);
                if (unit.ControlGroup is { Length: > 0 } cg)
                {
                    byCgroup.Remove(cg);
                }
            }
        }
    }

    private SpawnRejectedException Abandon(string name, SystemdBusException e)
    {
        // The unit may exist without anyone owning it: undone once the bus is back.
        lock (gate)
        {
            abandoned.Add(name);
        }

        return new SpawnRejectedException($"spawn rejected: {e.Message}", e);
    }

    /// <summary>Removes a unit: its failed state reset, or stopped (its leftover processes with it).</summary>
    private async Task DropUnitAsync(string name)
    {
        foreach (var member in new[] { "ResetFailedUnit", "StopUnit" })
        {
            try
            {
                await bus.CallAsync(
                    (ref MessageWriter w) =>
                    {
                        w.WriteMethodCallHeader(SystemdBus.Service, SystemdBus.ManagerPath, SystemdBus.ManagerInterface, member, member == "StopUnit" ? "ss" : "s");
                        w.WriteString(name);
                        if (member == "StopUnit")
                        {
                            w.WriteString("replace");
                        }
                    },
                    $"{member} {name}");
            }
            catch (DBusErrorReplyException)
            {
                // Not failed, or already gone.
            }
            catch (SystemdBusException e)
            {
                lock (gate)
                {
                    abandoned.Add(name);
                }

                logger.LogDebug("Unit {Unit} left for later: {Error}", name, e.Message);
                return;
            }
        }
    }

    // ---- the unit --------------------------------------------------------------------

    /// <summary>Output through a unix stream socket pair, as the native engine's: hostd reads one end, the unit gets the other as stdout and stderr.</summary>
    private static unsafe NetworkStream OpenOutput(out SafeFileHandle childOut, out SafeFileHandle childErr)
    {
        var fds = stackalloc int[2];
        if (LibC.socketpair(LibC.AF_UNIX, LibC.SOCK_STREAM | LibC.SOCK_CLOEXEC, 0, fds) != 0)
        {
            throw new IOException($"socketpair failed: {LibC.StrError(Marshal.GetLastPInvokeError())}");
        }

        // The bus library closes a descriptor once it has sent it: each of stdout and stderr gets its own.
        var second = Descriptors.Duplicate(fds[1]);
        if (second < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            LibC.close(fds[0]);
            LibC.close(fds[1]);
            throw new IOException($"dup failed: {LibC.StrError(errno)}");
        }

        childOut = new SafeFileHandle(fds[1], ownsHandle: true);
        childErr = new SafeFileHandle(second, ownsHandle: true);
        LibC.shutdown(fds[0], LibC.SHUT_WR);
        return new NetworkStream(new Socket(new SafeSocketHandle(fds[0], ownsHandle: true)), ownsSocket: true);
    }

    private void WriteStart(ref MessageWriter w, LaunchSpec spec, string name, string program, SafeFileHandle stdout, SafeFileHandle stderr)
    {
        w.WriteMethodCallHeader(SystemdBus.Service, SystemdBus.ManagerPath, SystemdBus.ManagerInterface, "StartTransientUnit", "ssa(sv)a(sa(sv))");
        w.WriteString(name);
        w.WriteString("fail");
        var properties = w.WriteArrayStart(DBusType.Struct);
        String(ref w, "Description", UnitNames.Describe(new UnitFacts(node, spec.Npid, spec.Tenant, spec.Identity.Uid, spec.Identity.Gid)));
        String(ref w, "Type", "exec");
        Bool(ref w, "RemainAfterExit", true);
        if (early)
        {
            Bool(ref w, "DefaultDependencies", false);
        }

        // Tenants' uids have no passwd entry, and systemd (252) refuses a User= it cannot look up
        // (status 217/USER): setpriv takes the uid and gid instead, then execs the program.
        string execPath;
        IEnumerable<string> argv;
        IEnumerable<KeyValuePair<string, string>> environment = spec.Environment;
        var drop = !spec.Identity.IsRoot || spec.Identity.Gid != 0;
        if (drop)
        {
            execPath = Setpriv;
            argv = ["setpriv", "--reuid", spec.Identity.Uid.ToString(CultureInfo.InvariantCulture), "--regid", spec.Identity.Gid.ToString(CultureInfo.InvariantCulture), "--clear-groups", "--", program, .. spec.Arguments];
            if (spec.Environment.TryGetValue("LD_PRELOAD", out var preload))
            {
                // The shim must not load into setpriv, which still runs as root: its hello would be
                // refused. env, started without it, puts it back for the program alone.
                environment = spec.Environment.Where(e => e.Key != "LD_PRELOAD");
                argv = ["setpriv", "--reuid", spec.Identity.Uid.ToString(CultureInfo.InvariantCulture), "--regid", spec.Identity.Gid.ToString(CultureInfo.InvariantCulture), "--clear-groups", "--", Env, "LD_PRELOAD=" + preload, program, .. spec.Arguments];
            }
        }
        else
        {
            execPath = program;
            argv = [spec.Path, .. spec.Arguments];
        }

        // a(sasb): path, argv (argv[0] included), ignore-failure; systemd expands $VAR in argv, so '$' is doubled.
        w.WriteStructureStart();
        w.WriteString("ExecStart");
        w.WriteSignature("a(sasb)");
        var exec = w.WriteArrayStart(DBusType.Struct);
        w.WriteStructureStart();
        w.WriteString(execPath);
        w.WriteArray(argv.Select(a => a.Replace("$", "$$", StringComparison.Ordinal)).ToArray());
        w.WriteBool(false);
        w.WriteArrayEnd(exec);

        w.WriteStructureStart();
        w.WriteString("Environment");
        w.WriteSignature("as");
        w.WriteArray(environment.Select(e => e.Key + "=" + e.Value).ToArray());

        String(ref w, "WorkingDirectory", spec.WorkingDirectory);
        String(ref w, "Slice", UnitNames.Slice(spec.Tenant));
        Bool(ref w, "NoNewPrivileges", true);
        Bool(ref w, "MemoryAccounting", true);
        Bool(ref w, "CPUAccounting", true);
        if (spec.Limits.MemoryBytes > 0)
        {
            UInt64(ref w, "MemoryMax", (ulong)spec.Limits.MemoryBytes);
        }

        if (spec.Limits.CpuMillis > 0)
        {
            // millicpus → µs of CPU per second of wall time; the kernel's minimum quota is 1 ms per 100 ms period.
            UInt64(ref w, "CPUQuotaPerSecUSec", (ulong)Math.Max(10_000, spec.Limits.CpuMillis * 1000));
        }

        foreach (var limit in spec.Identity.Limits)
        {
            if (limit.Resource >= 0 && limit.Resource < LimitNames.Length)
            {
                UInt64(ref w, "Limit" + LimitNames[limit.Resource], limit.Hard);
                UInt64(ref w, "Limit" + LimitNames[limit.Resource] + "Soft", limit.Soft);
                if (limit.Resource == 6 && limit.Hard < ulong.MaxValue)
                {
                    // The unit may not hold more tasks than its uid may have.
                    UInt64(ref w, "TasksMax", limit.Hard);
                }
            }
        }

        w.WriteStructureStart();
        w.WriteString("StandardOutputFileDescriptor");
        w.WriteVariantHandle(stdout);
        w.WriteStructureStart();
        w.WriteString("StandardErrorFileDescriptor");
        w.WriteVariantHandle(stderr);
        w.WriteArrayEnd(properties);

        var auxiliary = w.WriteArrayStart(DBusType.Struct);
        w.WriteArrayEnd(auxiliary);
    }

    private static void String(ref MessageWriter w, string key, string value)
    {
        w.WriteStructureStart();
        w.WriteString(key);
        w.WriteVariantString(value);
    }

    private static void Bool(ref MessageWriter w, string key, bool value)
    {
        w.WriteStructureStart();
        w.WriteString(key);
        w.WriteVariantBool(value);
    }

    private static void UInt64(ref MessageWriter w, string key, ulong value)
    {
        w.WriteStructureStart();
        w.WriteString(key);
        w.WriteVariantUInt64(value);
    }

    private static T Get<T>(Dictionary<string, VariantValue> values, string key, Func<VariantValue, T> read) =>
        values.TryGetValue(key, out var v) ? read(v) : default!;

    private static SpawnRejectedException? CheckProgram(LaunchSpec spec, string program, string root)
    {
        if (!Path.IsPathFullyQualified(program))
        {
            return new SpawnRejectedException($"spawn rejected: {program}: the path must be absolute");
        }

        if (Directory.Exists(root + program))
        {
            return new SpawnRejectedException($"spawn rejected: {program}: is a directory");
        }

        if (!File.Exists(root + program))
        {
            return new SpawnRejectedException(Nefele.Client.ErrorCodes.ProgramNotFound, $"spawn rejected: {program}: no such file");
        }

        if (LibC.access(root + program, LibC.X_OK) != 0)
        {
            return new SpawnRejectedException($"spawn rejected: {program}: permission denied: not executable");
        }

        return Directory.Exists(root + spec.WorkingDirectory) ? null : new SpawnRejectedException($"spawn rejected: cwd {spec.WorkingDirectory} does not exist");
    }

    /// <summary>systemd's own exit codes for a failed set-up before exec (EXIT_CHDIR … EXIT_*, 200-243).</summary>
    private static bool Ran(int mainPid, int code, int status) =>
        mainPid > 0 && code is 1 or 2 or 3 && !(code == 1 && status is >= 200 and <= 243);

    private static string DescribeFailure(LaunchSpec spec, string program, string root, string unit, string job, int code, int status, string? result)
    {
        const int Chdir = 200, Exec = 203, Group = 216, User = 217;
        string reason;
        if (code == 1 && status == Exec)
        {
            reason = !File.Exists(root + program) ? $"{program}: no such file"
                : Directory.Exists(root + program) ? $"{program}: is a directory"
                : LibC.access(root + program, LibC.X_OK) != 0 ? $"{program}: permission denied: not executable"
                : $"{program}: exec failed for uid {spec.Identity.Uid} (not executable for it, or its interpreter is missing)";
        }
        else if (code == 1 && status == Chdir)
        {
            reason = Directory.Exists(root + spec.WorkingDirectory)
                ? $"cwd {spec.WorkingDirectory}: permission denied for uid {spec.Identity.Uid}"
                : $"cwd {spec.WorkingDirectory} does not exist";
        }
        else if (code == 1 && status is User or Group)
        {
            reason = $"running as uid {spec.Identity.Uid} gid {spec.Identity.Gid} failed";
        }
        else
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"unit {unit} did not start (job {job}, result {result ?? "unknown"}, exit code {code} status {status})");
        }

        return "spawn rejected: " + reason;
    }

    /// <summary>What the engine knows of one unit. Guarded by the engine's lock.</summary>
    private sealed class UnitState(string name, string path)
    {
        public string Name { get; } = name;

        public string Path { get; } = path;

        /// <summary>The start job's result (JobRemoved), registered before the call so the signal cannot beat it.</summary>
        public TaskCompletionSource<string> Job { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string ControlGroup { get; set; } = "";

        public int HostPid { get; set; }

        public bool Started { get; set; }

        public ProcessExit? PendingExit { get; set; }

        public bool ExitReported { get; set; }

        /// <summary>Its removal from systemd, begun when its exit was reported.</summary>
        public Task? Dropping { get; set; }
    }
}
