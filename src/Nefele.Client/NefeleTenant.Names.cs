using Nefele.Errors;
using Nefele.Naming;
using Nefele.Validation;

namespace Nefele.Client;

/// <summary>Named services: names, numeric service ids ("#80"), groups and topics of the tenant.</summary>
public sealed partial class NefeleTenant
{
    /// <summary>
    /// Registers <paramref name="npid"/> under <paramref name="name"/>: a name of 1-64 letters,
    /// digits, '.', '_' or '-' not shaped like an NPID, or a numeric service id ("#80"). Several
    /// holders of one name form a group. The name dies with its holder. Registering again is no change.
    /// </summary>
    /// <param name="name">The name or service id.</param>
    /// <param name="npid">A live process of the tenant, or an open external mailbox of the tenant (<see cref="NefeleMailbox.Address"/>).</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The name's holders after the registration, in registration order.</returns>
    /// <exception cref="NefeleException"><see cref="ErrorCodes.BadRequest"/> for a bad name,
    /// <see cref="ErrorCodes.NpidNotFound"/> or <see cref="ErrorCodes.NotRunning"/> for a holder that is not a live process
    /// of the tenant, <see cref="ErrorCodes.NpidNotFound"/> for a mailbox that is not open in the tenant, <see cref="ErrorCodes.LimitExceeded"/> past the tenant's or the process's number of names.</exception>
    public Task<IReadOnlyList<string>> RegisterAsync(string name, string npid, CancellationToken ct = default)
    {
        Names.ValidateServiceName(name);
        return NameService.RegisterAsync(name, npid, ct);
    }

    /// <summary>Removes <paramref name="npid"/> from the holders of <paramref name="name"/>.</summary>
    /// <param name="name">The name or service id.</param>
    /// <param name="npid">The holder.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>When the change is visible on every node of the tenant.</returns>
    /// <exception cref="NefeleException"><see cref="ErrorCodes.NameNotFound"/> when it does not hold the name.</exception>
    public Task UnregisterAsync(string name, string npid, CancellationToken ct = default)
    {
        Names.ValidateServiceName(name);
        return NameService.UnregisterAsync(name, npid, ct);
    }

    /// <summary>
    /// The holders of <paramref name="name"/> once it has one, waiting up to <paramref name="timeout"/>
    /// for a registration. A zero timeout only looks.
    /// </summary>
    /// <param name="name">The name or service id.</param>
    /// <param name="timeout">How long to wait; longer than 10 s is several calls.</param>
    /// <param name="ct">Cancels the wait.</param>
    /// <returns>The holders, in registration order.</returns>
    /// <exception cref="NefeleException"><see cref="ErrorCodes.NameNotFound"/> (zero timeout) or
    /// <see cref="ErrorCodes.TimedOut"/> when nobody holds it in time.</exception>
    public async Task<IReadOnlyList<NameHolder>> WaitForNameAsync(string name, TimeSpan timeout, CancellationToken ct = default) =>
        (await WaitForNameEntryAsync(name, timeout, ct)).Holders;

    /// <summary>As <see cref="WaitForNameAsync"/>, answering the whole entry.</summary>
    /// <param name="name">The name or service id.</param>
    /// <param name="timeout">How long to wait; longer than 10 s is several calls.</param>
    /// <param name="ct">Cancels the wait.</param>
    /// <returns>The entry with its holders.</returns>
    public async Task<NameEntry> WaitForNameEntryAsync(string name, TimeSpan timeout, CancellationToken ct = default)
    {
        Names.ValidateServiceName(name);
        var started = TimeProvider.System.GetTimestamp();
        for (var first = true; ; first = false)
        {
            var left = timeout - TimeProvider.System.GetElapsedTime(started);
            if (!first && left <= TimeSpan.Zero)
            {
                throw new NefeleException(ErrorCodes.TimedOut, $"nobody registered the name {name} within {timeout.TotalSeconds:0.###} s");
            }

            try
            {
                return await NameService.WaitAsync(name, left > TimeSpan.Zero ? left : TimeSpan.Zero, ct);
            }
            catch (NefeleException e) when (e.Code == ErrorCodes.TimedOut && timeout - TimeProvider.System.GetElapsedTime(started) > TimeSpan.Zero)
            {
                // One call waits at most Limits.MaxMessagingWait: the rest is another call.
            }
        }
    }

    /// <summary>The tenant's names and service ids starting with <paramref name="prefix"/>, sorted, with their holders.</summary>
    /// <param name="prefix">Only names starting with it; null: all.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The entries.</returns>
    public Task<IReadOnlyList<NameEntry>> ListNamesAsync(string? prefix = null, CancellationToken ct = default) =>
        NameService.ListAsync(prefix, topics: false, ct);

    /// <summary>Subscribes <paramref name="npid"/> to <paramref name="topic"/> (names' rules); a publish to the topic reaches every subscriber.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="npid">A live process of the tenant, or an open external mailbox of the tenant (<see cref="NefeleMailbox.Address"/>).</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>When the change is visible on every node of the tenant.</returns>
    public Task SubscribeAsync(string topic, string npid, CancellationToken ct = default)
    {
        Names.ValidateServiceName(topic, "topic");
        return NameService.SubscribeAsync(topic, npid, ct);
    }

    /// <summary>Removes a subscriber of <paramref name="topic"/>.</summary>
    /// <param name="topic">The topic.</param>
    /// <param name="npid">The subscriber.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>When the change is visible on every node of the tenant.</returns>
    /// <exception cref="NefeleException"><see cref="ErrorCodes.NameNotFound"/> when it is not subscribed.</exception>
    public Task UnsubscribeAsync(string topic, string npid, CancellationToken ct = default)
    {
        Names.ValidateServiceName(topic, "topic");
        return NameService.UnsubscribeAsync(topic, npid, ct);
    }

    /// <summary>The tenant's topics starting with <paramref name="prefix"/>, sorted, with their subscribers.</summary>
    /// <param name="prefix">Only topics starting with it; null: all.</param>
    /// <param name="ct">Cancels the call.</param>
    /// <returns>The entries.</returns>
    public Task<IReadOnlyList<NameEntry>> ListTopicsAsync(string? prefix = null, CancellationToken ct = default) =>
        NameService.ListAsync(prefix, topics: true, ct);

    private INameServiceGrain NameService => _grains.GetGrain<INameServiceGrain>(Name);
}
