namespace Nefele.Messaging;

/// <summary>What one <see cref="MailItem"/> reached: mailboxes it was put in, and the targets that did not get it, each with why.</summary>
[GenerateSerializer, Immutable]
public sealed record DeliveryResult
{
    [Id(0)] public int Delivered { get; init; }

    [Id(1)] public IReadOnlyList<DeliveryFailure> Failures { get; init; } = [];

    public static DeliveryResult FailedAll(MailItem item, string code, string message) => new()
    {
        Failures = item.Targets.Count == 0
            ? [new DeliveryFailure(string.Empty, code, message)]
            : item.Targets.Select(t => new DeliveryFailure(t, code, message)).ToArray(),
    };
}
