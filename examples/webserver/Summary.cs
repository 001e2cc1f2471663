namespace Nefele.Example.Webserver;

/// <summary>How a run went: every request sent, and what it took to have each answered.</summary>
internal sealed record Summary(long Requests, long Answered, long Unanswered, long Retried, long Resent, long Duplicates, int Workers, int Nodes)
{
    public override string ToString() =>
        $"summary: requests {Requests} answered {Answered} unanswered {Unanswered} retried {Retried} resent {Resent} "
        + $"duplicates {Duplicates} workers seen {Workers} on {Nodes} nodes";
}
