using Orleans.Runtime;
using Nefele.Client;

namespace Nefele.Auth;

/// <summary>One API key's stored record (the secret's hash, never the secret).</summary>
public sealed class ApiKeyGrain(
    [PersistentState("apikey", StorageNames.Default)] IPersistentState<ApiKeyState> state,
    TimeProvider time) : Grain, IApiKeyGrain
{
    public async Task<bool> CreateAsync(ApiKeyRecord record)
    {
        if (state.State.Record is { } existing)
        {
            // The same key stored twice (the bootstrap admin key at every silo start) is no change.
            return existing with { CreatedAt = record.CreatedAt } == record;
        }

        state.State.Record = record;
        await state.WriteStateAsync();
        return true;
    }

    public Task<ApiKeyRecord?> GetAsync() => Task.FromResult(state.State.Record);

    public async Task RevokeAsync()
    {
        if (state.State.Record is { RevokedAt: null } record)
        {
            state.State.Record = record with { RevokedAt = time.GetUtcNow() };
            await state.WriteStateAsync();
        }
    }
}
