using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Nefele.Client;

namespace Nefele.Example.Webserver;

/// <summary>
/// Sends requests to the name "webserver" from a mailbox of this program and matches the answers
/// by tag. Delivery is at-most-once, so nothing is assumed to arrive: a send with ack that failed
/// (no holder for a moment, the holder's node just died) is retried, and a request whose answer
/// did not come within the timeout is sent again; the worker is idempotent, so a request answered
/// twice does no harm (the second answer is counted as a duplicate).
/// </summary>
internal sealed class RequestLoop(NefeleTenant tenant, ClientOptions options, TextWriter log)
{
    private const string Service = "webserver";
    private static readonly TimeSpan RetryPause = TimeSpan.FromMilliseconds(100);

    private readonly ConcurrentDictionary<long, Pending> _pending = new();
    private readonly ConcurrentDictionary<string, string> _workers = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _reopen = new(1, 1);
    private readonly SemaphoreSlim _inFlight = new(64, 64);
    private NefeleMailbox? _mailbox;
    private long _sent, _answered, _retried, _resent, _duplicates;

    public async Task<Summary> RunAsync(CancellationToken stop)
    {
        var holders = await tenant.WaitForNameAsync(Service, TimeSpan.FromSeconds(30), stop);
        log.WriteLine($"{Service} has {holders.Count} holders");
        _mailbox = await tenant.OpenMailboxAsync(stop);
        log.WriteLine($"mailbox {_mailbox.Address}");

        using var done = new CancellationTokenSource();
        var receiver = ReceiveLoopAsync(done.Token);
        var resender = ResendLoopAsync(done.Token);
        var progress = ProgressLoopAsync(done.Token);
        var sends = new List<Task>();
        try
        {
            // Send at the given rate until Ctrl-C, or until --requests have been sent.
            using var ticker = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / options.Rate));
            for (long id = 1; options.Requests == 0 || id <= options.Requests; id++)
            {
                if (!await ticker.WaitForNextTickAsync(stop))
                {
                    break;
                }

                _pending[id] = new Pending(Stopwatch.GetTimestamp());
                Interlocked.Increment(ref _sent);
                sends.Add(SendAsync(id, done.Token));
                sends.RemoveAll(t => t.IsCompleted);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }

        // Every request sent is answered in the end (resent while it is not); give it a bound.
        var drain = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(20).Ticks, 10 * options.Timeout.Ticks));
        var started = Stopwatch.GetTimestamp();
        using (var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50)))
        {
            while (!_pending.IsEmpty && Stopwatch.GetElapsedTime(started) < drain && await poll.WaitForNextTickAsync(CancellationToken.None))
            {
            }
        }

        await done.CancelAsync();
        await Task.WhenAll([receiver, resender, progress, .. sends]);
        if (_mailbox is { } mailbox)
        {
            await mailbox.DisposeAsync();
        }

        return new Summary(
            Interlocked.Read(ref _sent), Interlocked.Read(ref _answered), _pending.Count, Interlocked.Read(ref _retried),
            Interlocked.Read(ref _resent), Interlocked.Read(ref _duplicates), _workers.Count, _workers.Values.Distinct(StringComparer.Ordinal).Count());
    }

    /// <summary>One send of request <paramref name="id"/>, acknowledged, retried until it is in a worker's mailbox or answered.</summary>
    private async Task SendAsync(long id, CancellationToken ct)
    {
        await _inFlight.WaitAsync(ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (ct.IsCancellationRequested)
        {
            return;
        }

        try
        {
            var body = Encoding.UTF8.GetBytes($"request {id}");
            var send = new SendOptions { Tag = Tag(id), Mode = DeliveryMode.Any, Ack = true };
            while (!ct.IsCancellationRequested && _pending.ContainsKey(id))
            {
                try
                {
                    await _mailbox!.SendAsync(Service, body, send, ct);
                    return;
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e)
                {
                    // name_not_found while every worker is being replaced, not_running or node_unavailable
                    // for a worker whose node just died, or a lost gateway: the message is not in any
                    // mailbox, so sending it again cannot make it arrive twice.
                    if (Interlocked.Increment(ref _retried) <= 20)
                    {
                        log.WriteLine($"retry {Tag(id)}: {Describe(e)}");
                    }

                    await Task.Delay(RetryPause, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var mailbox = _mailbox!;
            NefeleMessage answer;
            try
            {
                answer = await mailbox.ReceiveAsync(TimeSpan.FromSeconds(5), null, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (NefeleException e) when (e.Code == ErrorCodes.TimedOut)
            {
                continue;
            }
            catch (NefeleException e) when (e.Code == ErrorCodes.NpidNotFound)
            {
                // The mailbox lived on a node that died, and its queued answers with it.
                await ReopenAsync(mailbox, ct);
                continue;
            }
            catch (Exception e)
            {
                log.WriteLine($"receive: {Describe(e)}");
                await Task.Delay(RetryPause, ct).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                continue;
            }

            Handle(answer);
        }
    }

    private void Handle(NefeleMessage answer)
    {
        if (!answer.Tag.StartsWith("req-", StringComparison.Ordinal)
            || !long.TryParse(answer.Tag.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            log.WriteLine($"ignored a message from {answer.From} tagged \"{answer.Tag}\"");
            return;
        }

        if (!_pending.TryRemove(id, out _))
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }

        Interlocked.Increment(ref _answered);
        var text = Encoding.UTF8.GetString(answer.Data.Span);
        var on = text.LastIndexOf(" on ", StringComparison.Ordinal);
        var node = on < 0 ? "?" : text[(on + 4)..];
        if (_workers.TryAdd(answer.From, node))
        {
            log.WriteLine($"worker {answer.From} on {node} answered {answer.Tag}: {text}");
        }
    }

    /// <summary>Opens a new mailbox in place of a dropped one, and sends every unanswered request again from it.</summary>
    private async Task ReopenAsync(NefeleMailbox dropped, CancellationToken ct)
    {
        await _reopen.WaitAsync(ct);
        try
        {
            if (!ReferenceEquals(_mailbox, dropped))
            {
                return;
            }

            while (!ct.IsCancellationRequested)
            {
                try
                {
                    _mailbox = await tenant.OpenMailboxAsync(ct);
                    break;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    log.WriteLine($"open mailbox: {Describe(e)}");
                    await Task.Delay(RetryPause, ct);
                }
            }

            log.WriteLine($"mailbox {dropped.Address} was dropped; now {_mailbox!.Address}");
            foreach (var id in _pending.Keys)
            {
                Resend(id, ct);
            }
        }
        finally
        {
            _reopen.Release();
        }
    }

    private async Task ResendLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(options.Timeout / 4);
        while (await timer.WaitForNextTickAsync(ct).AsTask().ContinueWith(t => t.IsCompletedSuccessfully && t.Result, TaskScheduler.Default))
        {
            foreach (var (id, pending) in _pending)
            {
                if (Stopwatch.GetElapsedTime(pending.LastSent) >= options.Timeout)
                {
                    Resend(id, ct);
                }
            }
        }
    }

    private void Resend(long id, CancellationToken ct)
    {
        if (_pending.TryGetValue(id, out var pending))
        {
            pending.LastSent = Stopwatch.GetTimestamp();
            Interlocked.Increment(ref _resent);
            _ = SendAsync(id, ct);
        }
    }

    private async Task ProgressLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(ct).AsTask().ContinueWith(t => t.IsCompletedSuccessfully && t.Result, TaskScheduler.Default))
        {
            log.WriteLine($"sent {Interlocked.Read(ref _sent)} answered {Interlocked.Read(ref _answered)} waiting {_pending.Count} "
                + $"retried {Interlocked.Read(ref _retried)} resent {Interlocked.Read(ref _resent)} workers seen {_workers.Count}");
        }
    }

    private static string Tag(long id) => string.Create(CultureInfo.InvariantCulture, $"req-{id}");

    private static string Describe(Exception e) => e is NefeleException n ? $"{n.Code}: {n.Message}" : $"{e.GetType().Name}: {e.Message}";

    private sealed class Pending(long sent)
    {
        private long _lastSent = sent;

        public long LastSent
        {
            get => Interlocked.Read(ref _lastSent);
            set => Interlocked.Exchange(ref _lastSent, value);
        }
    }
}
