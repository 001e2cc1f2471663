namespace Nefele.Cli.Transport;

/// <summary>What a spawn started and, for a partial spawn, how many tasks were turned away and why.</summary>
internal sealed record SpawnOutcome(IReadOnlyList<string> Npids, int RejectedCount, string? FirstRejection);
