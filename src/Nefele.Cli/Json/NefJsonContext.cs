using System.Text.Json.Serialization;

namespace Nefele.Cli.Json;

/// <summary>Source-generated serializers for every JSON shape nef reads or writes (no reflection at start-up).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true)]
[JsonSerializable(typeof(SpawnRequestDto))]
[JsonSerializable(typeof(SpawnResponseDto))]
[JsonSerializable(typeof(ProcessListDto))]
[JsonSerializable(typeof(IReadOnlyList<ProcessInfoDto>))]
[JsonSerializable(typeof(ProcessEventDto))]
[JsonSerializable(typeof(SignalRequestDto))]
[JsonSerializable(typeof(ProblemDetailsDto))]
[JsonSerializable(typeof(CspawnFileDto))]
internal sealed partial class NefJsonContext : JsonSerializerContext
{
}
