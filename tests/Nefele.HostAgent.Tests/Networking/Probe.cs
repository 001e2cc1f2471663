using System.Diagnostics;

namespace Nefele.HostAgent.Tests.Networking;

/// <summary>TCP from inside a network namespace: a listener that accepts one connection, and a connect attempt.</summary>
internal static class Probe
{
    public const string Python = "/usr/bin/python3";

    private const string ListenScript = """
        import socket, sys
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", int(sys.argv[1])))
        s.listen(8)
        print("listening", flush=True)
        s.settimeout(60)
        while True:
            c, a = s.accept()
            c.sendall(b"hello from " + socket.gethostname().encode() + b"\n")
            c.close()
        """;

    private const string ConnectScript = """
        import socket, sys
        try:
            c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
            print("connected", c.recv(100).decode().strip(), flush=True)
        except OSError as e:
            print("failed", type(e).__name__, e, flush=True)
            sys.exit(1)
        """;

    /// <summary>A listener on <paramref name="port"/> in the namespace; returns once it listens. Dispose kills it (by its pid).</summary>
    public static async Task<Listener> ListenAsync(string netnsPath, int port)
    {
        var process = Start(netnsPath, ListenScript, port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(20));
        if (line != "listening")
        {
            process.Kill();
            throw new InvalidOperationException($"the listener in {netnsPath} did not start: {line} {await process.StandardError.ReadToEndAsync()}");
        }

        return new Listener(process);
    }

    /// <summary>Tries to connect from the namespace (or, with null, from the test's own); true when the listener answered.</summary>
    public static async Task<(bool Connected, string Output)> ConnectAsync(string? netnsPath, string address, int port, double timeoutSeconds = 3)
    {
        using var process = Start(netnsPath, ConnectScript, address, port.ToString(System.Globalization.CultureInfo.InvariantCulture), timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var output = await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(timeoutSeconds + 20));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        return (process.ExitCode == 0, output.Trim());
    }

    private static Process Start(string? netnsPath, string script, params string[] args)
    {
        var start = new ProcessStartInfo(netnsPath is null ? Python : "/usr/bin/nsenter")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (netnsPath is not null)
        {
            start.ArgumentList.Add($"--net={netnsPath}");
            start.ArgumentList.Add(Python);
        }

        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    public sealed class Listener(Process process) : IDisposable
    {
        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(10_000);
            }

            process.Dispose();
        }
    }
}
