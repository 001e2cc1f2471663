using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Nefele.Client;

/// <summary>Connects when the host starts and disconnects when it stops (<see cref="NefeleServiceCollectionExtensions.AddNefeleClient"/>).</summary>
internal sealed class NefeleClientService(IOptions<NefeleClientOptions> options) : IHostedService, IAsyncDisposable
{
    private NefeleConnection? _connection;

    public NefeleConnection Connection =>
        _connection ?? throw new InvalidOperationException("the Nefele connection is made when the host starts: resolve NefeleConnection or NefeleTenant after it has started");

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _connection = await NefeleConnection.ConnectAsync(options.Value, cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
