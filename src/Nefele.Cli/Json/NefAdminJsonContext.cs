using System.Text.Json.Serialization;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Tenants;

namespace Nefele.Cli.Json;

/// <summary>Source-generated serializers for the tenant and key contract types (shared with the server, from Nefele.Abstractions).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    Converters = [typeof(RoleJsonConverter)])]
[JsonSerializable(typeof(WhoAmI))]
[JsonSerializable(typeof(TenantCreateRequest))]
[JsonSerializable(typeof(TenantInfo))]
[JsonSerializable(typeof(TenantList))]
[JsonSerializable(typeof(KeyCreateRequest))]
[JsonSerializable(typeof(CreatedKey))]
[JsonSerializable(typeof(KeyList))]
internal sealed partial class NefAdminJsonContext : JsonSerializerContext
{
}
