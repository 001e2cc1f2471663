using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Tenants;

namespace Nefele.Auth;

/// <summary>
/// At silo start: stores the bootstrap admin key (when configured) and makes sure the default
/// tenant exists, so a newcomer's first spawn works with the key scripts/up wrote.
/// </summary>
internal sealed class AuthBootstrap(IGrainFactory grains, IOptions<AuthOptions> options, TimeProvider time, ILogger<AuthBootstrap> logger) : IStartupTask
{
    public const string DefaultTenant = "default";

    public async Task Execute(CancellationToken cancellationToken)
    {
        if (options.Value.BootstrapAdminKey is { } configured && AuthOptions.TryParseBootstrap(configured) is var (id, hash))
        {
            var stored = await grains.GetGrain<IApiKeyGrain>(id).CreateAsync(new ApiKeyRecord
            {
                Id = id,
                Name = "bootstrap-admin",
                Role = Role.Admin,
                SecretHash = hash,
                CreatedAt = time.GetUtcNow(),
            });
            if (!stored)
            {
                logger.LogError("Bootstrap admin key {KeyId} is already stored with another secret or scope; it was not replaced", id);
            }
        }

        await grains.GetGrain<ITenantDirectoryGrain>(ITenantDirectoryGrain.Key).EnsureAsync(DefaultTenant);
    }
}
