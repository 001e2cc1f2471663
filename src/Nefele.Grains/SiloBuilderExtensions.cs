using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Nefele.Nodes;
using Orleans.Hosting;

namespace Nefele;

public static class SiloBuilderExtensions
{
    /// <summary>
    /// What Nefele's grains need from the silo: the node-local placement director, the call
    /// filters that authenticate and authorize every grain call, and start-up tasks. The host
    /// registers a <see cref="Auth.ClusterSecret"/> singleton (random on one node, shared in a cluster).
    /// </summary>
    public static ISiloBuilder AddNefeleGrains(this ISiloBuilder silo)
    {
        silo.Services.AddPlacementDirector<NodeLocalPlacement, NodeLocalPlacementDirector>();

        // External mailboxes keep their registrations in the strongly consistent directory, which
        // survives another silo's death without deactivating them (see SurvivingDirectory). Orleans
        // marks it experimental; the other grains keep the default.
#pragma warning disable ORLEANSEXP003
        silo.AddDistributedGrainDirectory(SurvivingDirectory.Name);
#pragma warning restore ORLEANSEXP003
        silo.Services.AddSingleton<Placement.NodeDirectoryCache>();
        silo.Services.AddOptions<Images.ImageStoreOptions>().BindConfiguration(Images.ImageStoreOptions.Section)
            .Validate(o => string.IsNullOrWhiteSpace(o.Directory) || Path.IsPathFullyQualified(o.Directory), "--shared-dir (Shared:Directory) must be an absolute path")
            .ValidateOnStart();
        silo.Services.AddSingleton<Images.ImageStore>();

        // Grain state is stored as JSON whose default settings leave out a member equal to its
        // type's default; read back, such a member takes the record's own initializer instead
        // (an exit status 0 came back as -1, a child Running as its initial phase). Every member
        // is written.
        silo.Services.Configure<Orleans.Serialization.OrleansJsonSerializerOptions>(o =>
            o.JsonSerializerSettings.DefaultValueHandling = Newtonsoft.Json.DefaultValueHandling.Include);
        silo.AddStartupTask<NodeAgentStartup>();
        silo.AddStartupTask<Auth.AuthBootstrap>();
        silo.Services.AddSingleton<Auth.CredentialValidator>();
        silo.AddIncomingGrainCallFilter<Auth.CallAuthorizationFilter>();
        silo.AddOutgoingGrainCallFilter<Auth.SystemCallStamp>();
        silo.Services.AddOptions<FailureOptions>().BindConfiguration(FailureOptions.Section)
            .Validate(o => o.NodeLostAfter > TimeSpan.Zero && o.CheckInterval > TimeSpan.Zero && o.MembershipReadTimeout > TimeSpan.Zero,
                "Failure:NodeLostAfter, Failure:CheckInterval and Failure:MembershipReadTimeout must be positive durations")
            .Validate(o => o.DeadNodeLostAfter >= TimeSpan.Zero, "Failure:DeadNodeLostAfter must not be negative")
            .ValidateOnStart();
        silo.Services.AddOptions<Messaging.MessagingOptions>().BindConfiguration(Messaging.MessagingOptions.Section)
            .Validate(o => o.MailboxIdleTimeout >= TimeSpan.FromSeconds(15) && o.MailboxIdleTimeout <= TimeSpan.FromDays(1), "Messaging:MailboxIdleTimeout must be between 00:00:15 and 1.00:00:00")
            .Validate(o => o.BatchMaxMessages is >= 1 and <= 100_000, "Messaging:BatchMaxMessages must be 1 to 100000")
            .Validate(o => o.BatchMaxBytes is >= 1 and <= 1L << 30, "Messaging:BatchMaxBytes must be 1 to 1073741824")
            .Validate(o => o.RouteCacheEntries is >= 16 and <= 10_000_000, "Messaging:RouteCacheEntries must be 16 to 10000000")
            .ValidateOnStart();
        silo.Services.TryAddSingleton<Messaging.IMessagingNameSource, Naming.NameServiceSource>();
        silo.Services.AddSingleton<Messaging.MessageRouter>();
        silo.Services.AddSingleton<NodeLiveness>();
        silo.Services.AddSingleton<INodeLiveness>(sp => sp.GetRequiredService<NodeLiveness>());
        silo.Services.AddHostedService(sp => sp.GetRequiredService<NodeLiveness>());
        silo.Services.AddSingleton<Naming.NodeNameTables>();
        silo.Services.AddSingleton<HostAgents>();
        silo.Services.AddHostedService<Naming.LostNodeNames>();
        silo.Services.AddOptions<Supervision.SupervisorOptions>().BindConfiguration(Supervision.SupervisorOptions.Section)
            .Validate(o => o.SweepInterval > TimeSpan.Zero, "Supervisors:SweepInterval must be a positive duration")
            .ValidateOnStart();
        silo.Services.AddHostedService<Supervision.SupervisorKeeper>();
        return silo;
    }
}
