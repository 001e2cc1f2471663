using Nefele.Auth;
using Orleans.Runtime;
using Nefele.Client;

namespace Nefele.Grains.Tests.Support;

/// <summary>
/// The test client acts as the cluster's own code (it holds the test silo's secret), unless a
/// test puts an API key in the RequestContext: then it is an ordinary client with that key.
/// </summary>
public sealed class TestCallStamp(string secret) : IOutgoingGrainCallFilter
{
    public async Task Invoke(IOutgoingGrainCallContext context)
    {
        if (RequestContext.Get(CallCredentials.ApiKey) is null)
        {
            RequestContext.Set(CallCredentials.System, secret);
        }

        await context.Invoke();
    }
}
