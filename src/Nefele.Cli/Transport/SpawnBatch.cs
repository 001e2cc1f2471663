using Nefele.Cli.Json;
using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Cli.Transport;

/// <summary>
/// One spawn call: spawn is one task with count 1, nspawn one task with count N,
/// cspawn several tasks with count 1 each.
/// </summary>
internal sealed record SpawnBatch(IReadOnlyList<ProcessSpec> Tasks, int Count, bool AllowPartial, string? RequestId, bool Spread = false);
