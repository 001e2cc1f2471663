using Microsoft.Extensions.Logging;
using Tmds.DBus.Protocol;

namespace Nefele.HostAgent.Engines.Systemd;

/// <summary>
/// One long-lived connection to a systemd's bus (calls run concurrently over it), subscribed to
/// the manager's JobRemoved and to PropertiesChanged of every unit. When the bus goes away the
/// connection is rebuilt in the background, with the subscriptions, and <see cref="Reconnected"/>
/// runs so its user can re-check what it missed; calls made meanwhile fail at once with a
/// <see cref="SystemdBusException"/> instead of waiting.
/// </summary>
internal sealed class SystemdBus : IAsyncDisposable
{
    public const string Service = "org.freedesktop.systemd1";
    public const string ManagerPath = "/org/freedesktop/systemd1";
    public const string ManagerInterface = "org.freedesktop.systemd1.Manager";
    public const string UnitInterface = "org.freedesktop.systemd1.Unit";
    public const string ServiceInterface = "org.freedesktop.systemd1.Service";
    private const string PropertiesInterface = "org.freedesktop.DBus.Properties";
    private const string UnitPathPrefix = "/org/freedesktop/systemd1/unit";
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan LastRetry = TimeSpan.FromSeconds(1);

    private readonly string address;
    private readonly ILogger logger;
    private readonly CancellationTokenSource closing = new();
    private readonly Lock gate = new();
    private DBusConnection? connection;
    private Task? reconnecting;
    private int disposed;

    public SystemdBus(string address, ILogger logger)
    {
        this.address = address;
        this.logger = logger;
    }

    /// <summary>The bus address, as given.</summary>
    public string Address => address;

    /// <summary>JobRemoved(id, job, unit, result) of the manager.</summary>
    public event Action<string, string>? JobRemoved;

    /// <summary>PropertiesChanged of a unit: its object path, the interface, the changed values.</summary>
    public event Action<string, string, Dictionary<string, VariantValue>>? PropertiesChanged;

    /// <summary>Runs after the connection was rebuilt (not after the first one).</summary>
    public event Func<Task>? Reconnected;

    /// <summary>Connects and subscribes; throws when the bus cannot be reached.</summary>
    public async Task ConnectAsync(CancellationToken ct)
    {
        var c = await OpenAsync(ct);
        lock (gate)
        {
            connection = c;
        }

        _ = WatchAsync(c);
    }

    /// <summary>The object path of a unit, encoded as sd_bus_path_encode does.</summary>
    public static string UnitPath(string unitName)
    {
        var builder = new System.Text.StringBuilder(UnitPathPrefix.Length + 1 + unitName.Length * 3);
        builder.Append(UnitPathPrefix).Append('/');
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(unitName))
        {
            if (b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9'))
            {
                builder.Append((char)b);
            }
            else
            {
                builder.Append('_').Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return builder.ToString();
    }

    /// <summary>Calls a method; <paramref name="write"/> writes the header and body.</summary>
    public async Task<T> CallAsync<T>(WriteCall write, MessageValueReader<T> read, string what)
    {
        var c = Current(what);
        MessageBuffer message;
        var writer = c.GetMessageWriter();
        try
        {
            write(ref writer);
            message = writer.CreateMessage();
        }
        finally
        {
            writer.Dispose();
        }

        try
        {
            return await c.CallMethodAsync(message, read);
        }
        catch (DBusErrorReplyException)
        {
            throw;
        }
        catch (Exception e) when (e is DBusConnectionClosedException or DBusConnectFailedException or ObjectDisposedException or IOException)
        {
            Lost(c);
            throw new SystemdBusException($"{what}: the systemd bus at {address} closed: {e.Message}", e);
        }
    }

    /// <summary>Calls a method whose reply has no body.</summary>
    public Task CallAsync(WriteCall write, string what) => CallAsync(write, static (_, _) => true, what);

    /// <summary>org.freedesktop.DBus.Properties.Get of one unit property.</summary>
    public Task<VariantValue> GetPropertyAsync(string unitPath, string iface, string property) =>
        CallAsync(
            (ref MessageWriter w) =>
            {
                w.WriteMethodCallHeader(Service, unitPath, PropertiesInterface, "Get", "ss");
                w.WriteString(iface);
                w.WriteString(property);
            },
            static (m, _) => m.GetBodyReader().ReadVariantValue(),
            $"reading {property} of {unitPath}");

    /// <summary>org.freedesktop.DBus.Properties.GetAll of one unit interface.</summary>
    public Task<Dictionary<string, VariantValue>> GetAllAsync(string unitPath, string iface) =>
        CallAsync(
            (ref MessageWriter w) =>
            {
                w.WriteMethodCallHeader(Service, unitPath, PropertiesInterface, "GetAll", "s");
                w.WriteString(iface);
            },
            static (m, _) => m.GetBodyReader().ReadDictionaryOfStringToVariantValue(),
            $"reading the properties of {unitPath}");

    /// <summary>Writes a call's header and body (the writer is a struct: it is passed by reference, or the writes are lost).</summary>
    public delegate void WriteCall(ref MessageWriter writer);

    public async ValueTask DisposeAsync()
    {
        // hostd's orderly stop disposes the engine, and the service container again.
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }

        await closing.CancelAsync();
        DBusConnection? c;
        lock (gate)
        {
            c = connection;
            connection = null;
        }

        c?.Dispose();
        if (reconnecting is { } r)
        {
            try
            {
                await r;
            }
            catch (OperationCanceledException)
            {
            }
        }

        closing.Dispose();
    }

    private DBusConnection Current(string what)
    {
        lock (gate)
        {
            return connection ?? throw new SystemdBusException($"{what}: the systemd bus at {address} is not connected (reconnecting)");
        }
    }

    private async Task<DBusConnection> OpenAsync(CancellationToken ct)
    {
        var c = new DBusConnection(address);
        try
        {
            await c.ConnectAsync().AsTask().WaitAsync(ct);
            await c.AddMatchAsync(
                new MatchRule { Type = MessageType.Signal, Sender = Service, Path = ManagerPath, Interface = ManagerInterface, Member = "JobRemoved" },
                static (m, _) =>
                {
                    var r = m.GetBodyReader();
                    r.ReadUInt32();
                    r.ReadObjectPath();
                    return (Unit: r.ReadString(), Result: r.ReadString());
                },
                n =>
                {
                    if (n.HasValue)
                    {
                        JobRemoved?.Invoke(n.Value.Unit, n.Value.Result);
                    }
                },
                emitOnCapturedContext: false);
            await c.AddMatchAsync(
                new MatchRule { Type = MessageType.Signal, Sender = Service, PathNamespace = UnitPathPrefix, Interface = PropertiesInterface, Member = "PropertiesChanged" },
                static (m, _) =>
                {
                    var r = m.GetBodyReader();
                    var iface = r.ReadString();
                    var changed = r.ReadDictionaryOfStringToVariantValue();
                    return (Path: m.PathAsString ?? "", Interface: iface, Changed: changed);
                },
                n =>
                {
                    if (n.HasValue)
                    {
                        PropertiesChanged?.Invoke(n.Value.Path, n.Value.Interface, n.Value.Changed);
                    }
                },
                emitOnCapturedContext: false);

            // Without Subscribe the manager sends no JobRemoved or unit signals to this client.
            MessageBuffer subscribe;
            using (var writer = c.GetMessageWriter())
            {
                writer.WriteMethodCallHeader(Service, ManagerPath, ManagerInterface, "Subscribe", null);
                subscribe = writer.CreateMessage();
            }

            await c.CallMethodAsync(subscribe);

            return c;
        }
        catch
        {
            c.Dispose();
            throw;
        }
    }

    private async Task WatchAsync(DBusConnection c)
    {
        var reason = await c.DisconnectedAsync();
        if (closing.IsCancellationRequested)
        {
            return;
        }

        logger.LogWarning("The systemd bus at {Address} closed ({Reason}): reconnecting", address, reason?.Message ?? "disposed");
        Lost(c);
    }

    /// <summary>Drops a broken connection (once) and starts rebuilding it.</summary>
    private void Lost(DBusConnection c)
    {
        lock (gate)
        {
            if (!ReferenceEquals(connection, c) || closing.IsCancellationRequested)
            {
                return;
            }

            connection = null;
            reconnecting = Task.Run(ReconnectAsync);
        }

        c.Dispose();
    }

    private async Task ReconnectAsync()
    {
        var delay = FirstRetry;
        while (!closing.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(delay, closing.Token);
                var c = await OpenAsync(closing.Token);
                lock (gate)
                {
                    if (closing.IsCancellationRequested)
                    {
                        c.Dispose();
                        return;
                    }

                    connection = c;
                }

                _ = WatchAsync(c);
                logger.LogInformation("Reconnected to the systemd bus at {Address}", address);
                if (Reconnected is { } handler)
                {
                    await handler();
                }

                return;
            }
            catch (OperationCanceledException) when (closing.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogDebug("The systemd bus at {Address} is still unreachable: {Error}", address, e.Message);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, LastRetry.Ticks));
            }
        }
    }
}
