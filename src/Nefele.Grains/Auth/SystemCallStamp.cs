using Orleans.Runtime;
using Nefele.Client;

namespace Nefele.Auth;

/// <summary>
/// Marks the grain calls a silo's own code makes with the cluster secret: every call a grain
/// makes (grains act for their caller only through the tenant they were given), and calls from
/// silo services that do not forward a client's key (hostd's events, start-up, the process
/// socket). The REST API forwards its caller's key instead, so those calls are checked like the SDK's.
/// </summary>
public sealed class SystemCallStamp(ClusterSecret secret) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        // A call made while handling a silo's call carries the stamp already: setting it again
        // would copy the request context on every grain-to-grain call.
        if (((context.SourceId is { } source && !source.IsClient()) || RequestContext.Get(CallCredentials.ApiKey) is null)
            && !ReferenceEquals(RequestContext.Get(CallCredentials.System), secret.Value))
        {
            RequestContext.Set(CallCredentials.System, secret.Value);
        }

        await context.Invoke();
    }
}
