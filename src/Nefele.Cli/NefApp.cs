using Nefele.Cli.Commands;
using Nefele.Cli.Parsing;
using Nefele.Cli.Transport;
using Nefele.Protocol;

namespace Nefele.Cli;

/// <summary>
/// Parses the command line, picks the transport (hostd's api socket when NEFELE_SOCKET is set,
/// else the REST API), runs the command and turns failures into one "nef: …" line and an exit status.
/// </summary>
internal static class NefApp
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadUsage = 2;

    /// <summary>A wait ran out (recv, wait: Nefele's timed_out), as timeout(1) exits.</summary>
    public const int TimedOut = 124;

    /// <summary>
    /// A program's main over the process's standard streams: <paramref name="parse"/> is its grammar
    /// (nef's by default), <paramref name="program"/> the name its messages start with.
    /// </summary>
    public static async Task<int> MainAsync(string[] args, Func<IReadOnlyList<string>, Invocation>? parse = null, string program = "nef")
    {
        using var interrupt = new CancellationTokenSource();
        var utf8 = new System.Text.UTF8Encoding(false);
        // Not Console.Out and Console.Error: those first work out the terminal's encoding and set the
        // terminal up, and their async writes go through the thread pool; nef writes UTF-8 anyway.
        var stdout = Output.StandardStream.Output;
        using var output = new StreamWriter(stdout, utf8) { AutoFlush = false };
        using var error = new StreamWriter(Output.StandardStream.Error, utf8) { AutoFlush = true };
        var status = await RunAsync(
            args, Environment.GetEnvironmentVariable, output, stdout, error, TimeProvider.System, interrupt.Token,
            beforeWaiting: () => Console.CancelKeyPress += (_, e) =>
            {
                // First Ctrl+C stops waiting (monitor, logs -f, spawn --wait) cleanly; the default handler
                // would kill mid-write. A quick command keeps the default: it costs nothing at start-up.
                e.Cancel = true;
                interrupt.Cancel();
            },
            parse: parse,
            program: program).ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
        return status;
    }

    public static async Task<int> RunAsync(
        IReadOnlyList<string> args,
        Func<string, string?> env,
        TextWriter output,
        Stream rawOutput,
        TextWriter error,
        TimeProvider time,
        CancellationToken ct,
        Action? beforeWaiting = null,
        Func<Stream>? input = null,
        Func<IReadOnlyList<string>, Invocation>? parse = null,
        string program = "nef")
    {
        CommandContext? context = null;
        try
        {
            // Another grammar over the same commands and transports: the nefele CLI's.
            var invocation = (parse ?? CommandLineParser.Parse)(args);
            if (invocation.Command.Waits)
            {
                beforeWaiting?.Invoke();
            }

            var connect = invocation.Command.Connects
                ? ChooseTransport(invocation.Globals, env, time)
                : () => throw new InvalidOperationException("this command does not talk to Nefele");
            context = new CommandContext(connect, output, rawOutput, error, time) { In = input ?? Console.OpenStandardInput };
            return await invocation.Command.RunAsync(context, ct).ConfigureAwait(false);
        }
        catch (UsageException e)
        {
            return await FailAsync(error, program, e.Message, BadUsage).ConfigureAwait(false);
        }
        catch (NefeleApiException e)
        {
            return await FailAsync(error, program, e.Message, e.Code == "timed_out" ? TimedOut : Failed).ConfigureAwait(false);
        }
        catch (ProtocolException e)
        {
            return await FailAsync(error, program, "protocol error on the api socket: " + e.Message, Failed).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return await FailAsync(error, program, "interrupted", 130).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or HttpRequestException or System.Net.Sockets.SocketException)
        {
            // A connection that breaks mid-answer (not at connect time, which the transports word themselves).
            return await FailAsync(error, program, "connection lost: " + e.Message, Failed).ConfigureAwait(false);
        }
        finally
        {
            if (context is { Connected: true })
            {
                await context.Transport.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>Resolves settings now (so a bad --api is a usage error) but connects only when a command needs to.</summary>
    private static Func<INefeleTransport> ChooseTransport(GlobalOptions globals, Func<string, string?> env, TimeProvider time)
    {
        var socket = env("NEFELE_SOCKET");
        if (!string.IsNullOrEmpty(socket))
        {
            // Inside a Nefele process hostd answers for the caller's own tenant, on its own node:
            // a --tenant or --api would be ignored, so it is refused rather than silently dropped.
            var given = globals.Tenant is not null ? "--tenant" : globals.Api is not null ? "--api" : null;
            if (given is not null)
            {
                throw new UsageException(
                    $"{given} is not available inside a Nefele process: nef talks to hostd's api socket (NEFELE_SOCKET), which acts for this process's own tenant; to use the REST API instead, unset NEFELE_SOCKET and give an API key");
            }

            return () => new SocketTransport(socket);
        }

        var apis = globals.ResolveApis(env);
        var tenant = globals.ResolveTenant(env);
        var token = Auth.CredentialSources.Find(env);
        return () => new RestTransport(apis, tenant, RestTransport.DefaultConnectTimeout, token, time);
    }

    private static async Task<int> FailAsync(TextWriter error, string program, string message, int status)
    {
        await error.WriteLineAsync(program + ": " + message.ReplaceLineEndings(" ").Trim()).ConfigureAwait(false);
        await error.FlushAsync().ConfigureAwait(false);
        return status;
    }
}
