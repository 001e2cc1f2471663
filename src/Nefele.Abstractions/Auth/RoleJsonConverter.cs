using System.Text.Json;
using System.Text.Json.Serialization;
using Nefele.Client;

namespace Nefele.Auth;

/// <summary>Roles on the wire are lowercase words ("owner", "member", "viewer", "admin"), as users type them.</summary>
public sealed class RoleJsonConverter() : JsonStringEnumConverter<Role>(JsonNamingPolicy.CamelCase, allowIntegerValues: false);
