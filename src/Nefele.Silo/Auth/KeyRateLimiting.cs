using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Silo.Api;

namespace Nefele.Silo.Auth;

/// <summary>
/// Per-key request rate limits (ASP.NET Core rate limiting): a token bucket per API key, and one
/// per client address for requests without a valid key, so neither a runaway script nor a key
/// guesser can take the node. Refusals are 429 problem details with code rate_limited.
/// </summary>
internal static class KeyRateLimiting
{
    public static IServiceCollection AddKeyRateLimiting(this IServiceCollection services)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var options = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value;
                var partition = http.Items[ApiKeyAuthenticationHandler.Items.Principal] is Principal principal
                    ? "key:" + principal.KeyId
                    : "addr:" + http.Connection.RemoteIpAddress;
                return RateLimitPartition.GetTokenBucketLimiter(partition, _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = options.RequestBurstPerKey,
                    TokensPerPeriod = options.RequestsPerSecondPerKey,
                    ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            limiter.OnRejected = async (context, ct) =>
            {
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retry))
                {
                    context.HttpContext.Response.Headers.RetryAfter = ((int)Math.Ceiling(retry.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

                await ProblemMapping.ToProblem(ErrorCodes.RateLimited, "too many requests with this key; slow down and retry").ExecuteAsync(context.HttpContext);
            };
        });
        return services;
    }
}
