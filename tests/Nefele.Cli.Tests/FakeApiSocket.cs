using System.Collections.Concurrent;
using System.Net.Sockets;
using Nefele.Protocol;
using Nefele.Protocol.V1;

namespace Nefele.Cli.Tests;

/// <summary>Stands in for hostd's api socket: answers each ProcRequest with what the test's function returns.</summary>
internal sealed class FakeApiSocket : IAsyncDisposable
{
    private readonly Socket listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
    private readonly Func<ProcRequest, Task<ProcResponse>> answer;
    private readonly CancellationTokenSource stop = new();
    private readonly Task loop;

    public FakeApiSocket(Func<ProcRequest, Task<ProcResponse>> answer)
    {
        this.answer = answer;
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"nef-{Guid.NewGuid():N}.sock");
        listener.Bind(new UnixDomainSocketEndPoint(Path));
        listener.Listen();
        loop = Task.Run(AcceptAsync);
    }

    public string Path { get; }

    public ConcurrentQueue<ProcRequest> Requests { get; } = new();

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Dispose();
        try
        {
            await loop;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Closing the listener ends the accept loop this way.
        }

        File.Delete(Path);
        stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            var client = await listener.AcceptAsync(stop.Token);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(Socket client)
    {
        using var _ = client;
        await using var stream = new NetworkStream(client);
        var write = new SemaphoreSlim(1, 1);
        var answers = new List<Task>();
        while (await FrameCodec.ReadAsync(stream, ProcRequest.Parser, stop.Token) is { } request)
        {
            Requests.Enqueue(request);

            // Answer concurrently, as hostd may: replies can come back in any order.
            answers.Add(Task.Run(async () =>
            {
                var response = await answer(request);
                response.Id = request.Id;
                await write.WaitAsync();
                try
                {
                    await FrameCodec.WriteAsync(stream, response, CancellationToken.None);
                }
                finally
                {
                    write.Release();
                }
            }));
        }

        await Task.WhenAll(answers);
    }
}
