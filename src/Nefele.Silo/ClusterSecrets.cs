using Nefele.Auth;
using StackExchange.Redis;
using Nefele.Client;

namespace Nefele.Silo;

/// <summary>
/// The cluster secret of a Redis cluster: the first silo stores a random one, every later silo
/// reads it, so all silos of the cluster hold the same one (see <see cref="ClusterSecret"/>).
/// </summary>
internal static class ClusterSecrets
{
    public static async Task<ClusterSecret> GetOrCreateAsync(string redis, string clusterId)
    {
        var options = ConfigurationOptions.Parse(redis);
        options.AbortOnConnectFail = false;
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var db = connection.GetDatabase();
        var key = $"{clusterId}/nefele/cluster-secret";
        await db.StringSetAsync(key, ClusterSecret.Random().Value, when: When.NotExists);
        var value = await db.StringGetAsync(key);
        return new ClusterSecret(value.ToString());
    }
}
