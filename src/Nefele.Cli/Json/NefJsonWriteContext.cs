using System.Text.Json.Serialization;
using Nefele.Placement;

namespace Nefele.Cli.Json;

/// <summary>
/// Serialization-only source generation for the spawn request (see <see cref="HotPathJson"/>): its
/// generated writer is called directly, so sending a spawn builds no serializer metadata. The names
/// and shape are <see cref="NefJsonContext"/>'s (camelCase, every property written).
/// </summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, GenerationMode = JsonSourceGenerationMode.Serialization)]
[JsonSerializable(typeof(SpawnRequest))]
internal sealed partial class NefJsonWriteContext : JsonSerializerContext
{
}
