using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;

namespace Nefele.Auth;

/// <summary>
/// Turns an API key token into the principal it speaks for, or an unauthenticated error saying
/// why. The one check behind every door (REST's authentication handler and the grain call
/// filter). What it read of a key is kept for <see cref="AuthOptions.KeyCacheTtl"/>.
/// </summary>
public sealed class CredentialValidator(IGrainFactory grains, TimeProvider time, IOptions<AuthOptions> options)
{
    /// <summary>Bounds the cache, so a flood of made-up key ids cannot grow it without end.</summary>
    private const int MaxCached = 10_000;
    private readonly ConcurrentDictionary<string, (ApiKeyRecord? Record, long ReadAt)> _cache = new(StringComparer.Ordinal);

    public async ValueTask<Principal> ValidateAsync(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            throw new NefeleException(ErrorCodes.Unauthenticated, "no credential: send an API key (Authorization: Bearer nfk_…)");
        }

        if (!ApiKeys.TryParse(token, out var id, out var secret))
        {
            throw new NefeleException(ErrorCodes.Unauthenticated, "the credential is not a Nefele API key (nfk_<id>_<secret>)");
        }

        var record = await ReadAsync(id);
        if (record is null || !ApiKeys.Matches(secret, record.SecretHash))
        {
            throw new NefeleException(ErrorCodes.Unauthenticated, "unknown API key");
        }

        if (record.RevokedAt is not null)
        {
            throw new NefeleException(ErrorCodes.Unauthenticated, $"API key {record.Name} was revoked");
        }

        if (record.ExpiresAt is { } expires && expires <= time.GetUtcNow())
        {
            throw new NefeleException(ErrorCodes.Unauthenticated, $"API key {record.Name} expired at {expires:yyyy-MM-dd HH:mm:ss}Z");
        }

        return new Principal(record.Id, record.Name, record.Tenant, record.Role);
    }

    private async ValueTask<ApiKeyRecord?> ReadAsync(string id)
    {
        var now = time.GetTimestamp();
        if (_cache.TryGetValue(id, out var cached) && time.GetElapsedTime(cached.ReadAt, now) < options.Value.KeyCacheTtl)
        {
            return cached.Record;
        }

        var record = await grains.Get<IApiKeyGrain>(id).GetAsync();
        if (_cache.Count >= MaxCached)
        {
            _cache.Clear();
        }

        _cache[id] = (record, now);
        return record;
    }
}
