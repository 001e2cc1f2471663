using Microsoft.Extensions.DependencyInjection;
using Nefele.Nodes;
using Orleans.Hosting;

namespace Nefele;

public static class SiloBuilderExtensions
{
    /// <summary>What Nefele's grains need from the silo: the node-local placement director.</summary>
    public static ISiloBuilder AddNefeleGrains(this ISiloBuilder silo)
    {
        silo.Services.AddPlacementDirector<NodeLocalPlacement, NodeLocalPlacementDirector>();
        return silo;
    }
}
