using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Nefele.HostAgent.Processes;
using Nefele.Protocol.V1;
using Nefele.Validation;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Messaging;

public sealed partial class PostOffice
{
    private readonly ConcurrentDictionary<string, TenantNames> tables = new(StringComparer.Ordinal);

    // Any-cast rotation per (tenant, name): the sending node keeps it, across table updates.
    private readonly ConcurrentDictionary<(string Tenant, string Name), StrongBox<uint>> rotations = new();
    private readonly Lock namesGate = new();
    private readonly List<NameWaiter> nameWaiters = [];

    private TenantNames Table(string tenant) => tables.GetValueOrDefault(tenant, TenantNames.Empty);

    private uint Rotation(string tenant, string name) =>
        Interlocked.Increment(ref rotations.GetOrAdd((tenant, name), static _ => new StrongBox<uint>(uint.MaxValue)).Value);

    /// <summary>
    /// Replaces the node's copy of a tenant's tables when <paramref name="update"/> is newer than
    /// the one held (an older or equal version is ignored), and answers the waits it satisfies.
    /// Returns why it was refused (nothing changes then), or null.
    /// </summary>
    internal string? UpdateNames(NameTableUpdate update)
    {
        if (!Names.IsTenantName(update.Tenant))
        {
            return $"name table refused: tenant '{Names.Shorten(update.Tenant)}' is not a tenant name";
        }

        foreach (var (entry, what) in update.Names.Select(e => (e, "name")).Concat(update.Topics.Select(e => (e, "topic"))))
        {
            if (!Names.IsServiceName(entry.Name))
            {
                return $"name table refused: {what} '{Names.Shorten(entry.Name)}' is invalid: use {Names.ServiceNameRule}";
            }

            if (entry.Holders.FirstOrDefault(h => h.Npid.Length == 0) is not null)
            {
                return $"name table refused: {what} '{entry.Name}' has a holder without an NPID";
            }
        }

        var table = TenantNames.Of(update);
        List<(NameWaiter Waiter, IReadOnlyList<NameHolder> Holders)>? satisfied = null;
        lock (namesGate)
        {
            if (tables.TryGetValue(update.Tenant, out var held) && held.Version >= update.Version)
            {
                return null;
            }

            tables[update.Tenant] = table;
            for (var i = 0; i < nameWaiters.Count; i++)
            {
                var w = nameWaiters[i];
                if (string.Equals(w.Tenant, update.Tenant, StringComparison.Ordinal) && table.Holders(w.Name) is { Count: > 0 } holders)
                {
                    nameWaiters.RemoveAt(i--);
                    w.Timer?.Dispose();
                    (satisfied ??= []).Add((w, holders));
                }
            }
        }

        foreach (var (w, holders) in satisfied ?? [])
        {
            w.Sink.Send(WaitNameAnswer(w.RequestId, holders));
        }

        return null;
    }

    /// <summary>Answers when the name has holders in the caller's tenant (at once if it has), or timed_out.</summary>
    internal void WaitName(CallerIdentity caller, ulong id, WaitNameRequest request, IReplySink sink)
    {
        if (!Names.IsServiceName(request.Name))
        {
            sink.Send(Failure(id, ErrorCodes.BadRequest, Refusal(() => Names.ValidateServiceName(request.Name))));
            return;
        }

        if (request.TimeoutMs < 0)
        {
            sink.Send(Failure(id, ErrorCodes.BadRequest, $"timeout_ms {request.TimeoutMs} must not be negative (0 answers at once, at most {MaxWaitMs})"));
            return;
        }

        var timeoutMs = Math.Min(request.TimeoutMs, MaxWaitMs);
        IReadOnlyList<NameHolder> holders;
        lock (namesGate)
        {
            holders = Table(caller.Tenant).Holders(request.Name);
            if (holders.Count == 0 && timeoutMs > 0)
            {
                var waiter = new NameWaiter(this, caller.Tenant, request.Name, sink, id, timeoutMs);
                nameWaiters.Add(waiter);
                waiter.Timer = time.CreateTimer(static s => ((NameWaiter)s!).TimedOut(), waiter, TimeSpan.FromMilliseconds(timeoutMs), Timeout.InfiniteTimeSpan);
                return;
            }
        }

        sink.Send(holders.Count > 0
            ? WaitNameAnswer(id, holders)
            : Failure(id, ErrorCodes.TimedOut, $"nobody registered the name '{request.Name}' within {timeoutMs} ms"));
    }

    /// <summary>The caller's tenant's names (or topics) starting with the prefix, from this node's copy.</summary>
    internal void ListNames(CallerIdentity caller, ulong id, NamesRequest request, IReplySink sink)
    {
        var reply = new NamesReply();
        reply.Names.AddRange(Table(caller.Tenant).List(request.Prefix, request.Topics));
        sink.Send(new ProcResponse { Id = id, Names = reply });
    }

    private void NameWaitTimedOut(NameWaiter waiter)
    {
        lock (namesGate)
        {
            if (!nameWaiters.Remove(waiter))
            {
                return;
            }
        }

        waiter.Timer?.Dispose();
        waiter.Sink.Send(Failure(waiter.RequestId, ErrorCodes.TimedOut, $"nobody registered the name '{waiter.Name}' within {waiter.TimeoutMs} ms"));
    }

    /// <summary>
    /// Checks a register, unregister, subscribe or unsubscribe at the door (the silo answers them):
    /// the name or topic by the shared grammar, the NPID, when one is given, by its shape. Why it is
    /// refused, or null.
    /// </summary>
    internal static string? CheckNameCall(ProcRequest request)
    {
        var (name, npid, what) = request.BodyCase switch
        {
            ProcRequest.BodyOneofCase.Register => (request.Register.Name, request.Register.Npid, "name"),
            ProcRequest.BodyOneofCase.Unregister => (request.Unregister.Name, request.Unregister.Npid, "name"),
            ProcRequest.BodyOneofCase.Subscribe => (request.Subscribe.Topic, request.Subscribe.Npid, "topic"),
            ProcRequest.BodyOneofCase.Unsubscribe => (request.Unsubscribe.Topic, request.Unsubscribe.Npid, "topic"),
            _ => ("", "", ""),
        };
        if (!Names.IsServiceName(name))
        {
            return Refusal(() => Names.ValidateServiceName(name, what));
        }

        return npid.Length == 0 || Names.IsNpid(npid) ? null : $"npid '{Names.Shorten(npid)}' is not an NPID (13 characters of Crockford base32), nor empty for the caller";
    }

    private static ProcResponse WaitNameAnswer(ulong id, IReadOnlyList<NameHolder> holders)
    {
        var reply = new WaitNameReply();
        foreach (var holder in holders)
        {
            reply.Npids.Add(holder.Npid);
        }

        return new ProcResponse { Id = id, WaitName = reply };
    }

    private sealed class NameWaiter(PostOffice post, string tenant, string name, IReplySink sink, ulong requestId, int timeoutMs)
    {
        public string Tenant { get; } = tenant;

        public string Name { get; } = name;

        public IReplySink Sink { get; } = sink;

        public ulong RequestId { get; } = requestId;

        public int TimeoutMs { get; } = timeoutMs;

        public ITimer? Timer { get; set; }

        public void TimedOut() => post.NameWaitTimedOut(this);
    }
}
