using System.Text.Json.Serialization;
using Nefele.Client;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Cli.Json;

/// <summary>Source-generated serializers for every JSON shape nef reads or writes (no reflection at start-up).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    PropertyNameCaseInsensitive = true,
    ReadCommentHandling = System.Text.Json.JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UseStringEnumConverter = true)]
[JsonSerializable(typeof(SpawnRequest))]
[JsonSerializable(typeof(SpawnResult))]
[JsonSerializable(typeof(ProcessListDto))]
[JsonSerializable(typeof(IReadOnlyList<ProcessInfo>))]
[JsonSerializable(typeof(ProcessEvent))]
[JsonSerializable(typeof(SignalRequestDto))]
[JsonSerializable(typeof(ProblemDetailsDto))]
[JsonSerializable(typeof(CspawnFileDto))]
[JsonSerializable(typeof(SendMessageDto))]
[JsonSerializable(typeof(DeliveredDto))]
[JsonSerializable(typeof(MailboxDto))]
[JsonSerializable(typeof(MailboxMessageDto))]
[JsonSerializable(typeof(NameListDto))]
[JsonSerializable(typeof(NameEntryDto))]
[JsonSerializable(typeof(RegisterNameDto))]
[JsonSerializable(typeof(NpidListDto))]
[JsonSerializable(typeof(SupervisorSpec))]
[JsonSerializable(typeof(SupervisorStatus))]
[JsonSerializable(typeof(IReadOnlyList<SupervisorStatus>))]
[JsonSerializable(typeof(SupervisorListDto))]
[JsonSerializable(typeof(ResizeDto))]
[JsonSerializable(typeof(ImageList))]
[JsonSerializable(typeof(ImageInfo))]
[JsonSerializable(typeof(IReadOnlyList<ImageInfo>))]
[JsonSerializable(typeof(ImageTagRequest))]
[JsonSerializable(typeof(ImageCommitRequest))]
[JsonSerializable(typeof(ImageConfig))]
[JsonSerializable(typeof(UploadedLayer))]
[JsonSerializable(typeof(DefaultImageDto))]
[JsonSerializable(typeof(Nefele.Api.LogRecordEvent))]
internal sealed partial class NefJsonContext : JsonSerializerContext
{
}
