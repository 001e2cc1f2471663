using Nefele.Processes;

namespace Nefele.Cli.Json;

/// <summary>How a process ended, as the REST API and ps --json show it.</summary>
internal sealed record ProcessEndDto
{
    public required string State { get; init; }

    public int ExitCode { get; init; } = -1;

    public int Signal { get; init; }

    public bool CoreDumped { get; init; }

    public bool OomKilled { get; init; }

    public string? Reason { get; init; }

    public DateTimeOffset? EndedAt { get; init; }

    public string? Description { get; init; }

    /// <summary>The one line monitor prints: the server's own wording when it sent one, else the same wording made here.</summary>
    public string Describe()
    {
        if (!string.IsNullOrEmpty(Description))
        {
            return Description;
        }

        var state = Enum.TryParse<ProcessState>(State, ignoreCase: true, out var parsed) ? parsed : ProcessState.Exited;
        return new ProcessEnd
        {
            State = state,
            ExitCode = ExitCode,
            Signal = Signal,
            CoreDumped = CoreDumped,
            OomKilled = OomKilled,
            Reason = Reason,
        }.Describe();
    }
}
