using StackExchange.Redis;

namespace Nefele.Silo;

/// <summary>
/// Gives each node of a Redis cluster its own NPID generator id when none is configured:
/// a counter in Redis, so two nodes that join never share one (ids repeat only after
/// 1,023 joins, and then only with a node that left long before).
/// </summary>
internal static class GeneratorIds
{
    public static async Task<int> LeaseAsync(string redis, string clusterId)
    {
        var options = ConfigurationOptions.Parse(redis);
        options.AbortOnConnectFail = false;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var next = await connection.GetDatabase().StringIncrementAsync($"{clusterId}/nefele/generator-ids");
        // 0..1022: 1023 is the external mailboxes' (MailboxAddress.GeneratorId).
        return (int)(next % Nefele.Messaging.MailboxAddress.GeneratorId);
    }
}
