using Nefele;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Nodes;
using Nefele.Placement;
using Nefele.Processes;
using Nefele.Silo;
using Nefele.Silo.Api;
using Nefele.Silo.Auth;
using Nefele.Silo.Hostd;
using Nefele.Silo.Storage;
using Nefele.Silo.Telemetry;
using Nefele.Tenants;
using Orleans.Configuration;
using Orleans.Dashboard;

// A bare flag (no value) is not something the configuration binder understands.
args = args.Select(a => a switch
{
    "--api-allow-remote" => "--Api:AllowRemote=true",
    "--allow-hollow-nodes" => "--Api:AllowHollowNodes=true",
    "--anonymous-metrics" => "--Api:AnonymousMetrics=true",
    "--insecure-transport" => "--Cluster:InsecureTransport=true",
    _ => a,
}).ToArray();
args = NodeFlags.Expand(args);
args = DashboardSettings.Expand(args);

var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = args,
    ContentRootPath = AppContext.BaseDirectory,
});

// Short flags for the common settings; everything else binds as --Section:Key=value.
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>
{
    ["--node"] = "Node:Name",
    ["--hostd-socket"] = "Node:HostdControlSocket",
    ["--hostd-secret-file"] = "Node:HostdSecretFile",
    ["--generator-id"] = "Node:GeneratorId",
    ["--api"] = "Api:Url",
    ["--silo-port"] = "Orleans:SiloPort",
    ["--gateway-port"] = "Orleans:GatewayPort",
    ["--redis"] = "Cluster:Redis",
    ["--advertise"] = "Cluster:Advertise",
    ["--cluster-id"] = "Cluster:Id",
    ["--admin-key"] = "Auth:BootstrapAdminKey",
    ["--tls-ca"] = "Cluster:TlsCa",
    ["--tls-cert"] = "Cluster:TlsCert",
    ["--tls-key"] = "Cluster:TlsKey",
    ["--retention-count"] = "Retention:Count",
    ["--retention-age"] = "Retention:Age",
    [Nefele.Shared.SharedDirectory.Flag] = "Shared:Directory",
});

builder.Services.AddOptions<NodeOptions>().Bind(builder.Configuration.GetSection(NodeOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<PlacementOptions>().Bind(builder.Configuration.GetSection(PlacementOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<ClusterSettings>().Bind(builder.Configuration.GetSection(ClusterSettings.Section)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<AuthOptions>().Bind(builder.Configuration.GetSection(AuthOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<TenantOptions>().Bind(builder.Configuration.GetSection(TenantOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<Nefele.Retention.RetentionOptions>().Bind(builder.Configuration.GetSection(Nefele.Retention.RetentionOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddOptions<ApiOptions>().Bind(builder.Configuration.GetSection(ApiOptions.Section)).ValidateDataAnnotations().ValidateOnStart();

var node = builder.Configuration.GetSection(NodeOptions.Section).Get<NodeOptions>() ?? new NodeOptions();
var cluster = builder.Configuration.GetSection(ClusterSettings.Section).Get<ClusterSettings>() ?? new ClusterSettings();
if (cluster.Problems() is { Count: > 0 } clusterProblems)
{
    // Before anything touches Redis: a node with bad cluster flags leaves no trace there.
    foreach (var problem in clusterProblems)
    {
        Console.Error.WriteLine($"nefele-silo: {problem}");
    }

    return 2;
}

var api = builder.Configuration.GetSection(ApiOptions.Section).Get<ApiOptions>() ?? new ApiOptions();
var dashboard = builder.Configuration.GetSection(DashboardSettings.Section).Get<DashboardSettings>() ?? new DashboardSettings();
if (dashboard.Problem(api) is { } dashboardProblem)
{
    Console.Error.WriteLine($"nefele-silo: {dashboardProblem}");
    return 2;
}

var siloPort = builder.Configuration.GetValue("Orleans:SiloPort", NefeleDefaults.SiloPort);
var gatewayPort = builder.Configuration.GetValue("Orleans:GatewayPort", NefeleDefaults.GatewayPort);

builder.UseOrleans(silo =>
{
    silo.Configure<SiloOptions>(o => o.SiloName = node.Name);
    if (cluster.IsClustered)
    {
        // Membership and grain state in Redis; every node admits, none is special.
        var redis = StackExchange.Redis.ConfigurationOptions.Parse(cluster.Redis!);
        redis.AbortOnConnectFail = false;
        silo.UseRedisClustering(o => o.ConfigurationOptions = redis);
        silo.AddRedisGrainStorage(StorageNames.Default, o =>
        {
            o.ConfigurationOptions = redis;

            // Retention clears the records it collects: the key goes, not just its value.
            o.DeleteStateOnClear = true;
        });
        silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (cluster.Id, cluster.Id));
        silo.ConfigureEndpoints(System.Net.IPAddress.Parse(cluster.Advertise!), siloPort, gatewayPort, listenOnAnyHostAddress: true);
        silo.Configure<ClusterMembershipOptions>(NodeFailureDetection.Configure);
        if (cluster.UsesTls)
        {
            silo.UseClusterTls(cluster.LoadTls);
        }
    }
    else
    {
        silo.UseLocalhostClustering(siloPort, gatewayPort, serviceId: NefeleDefaults.ServiceId, clusterId: NefeleDefaults.ClusterId);
        silo.Services.AddKeyedSingleton<Orleans.Storage.IGrainStorage, NodeMemoryGrainStorage>(StorageNames.Default);
    }

    silo.AddNefeleGrains();

    // Grain calls carry the caller's trace context (a spawn is one trace from the SDK or REST to
    // hostd); with no span exported, the calls do without the filters.
    if (TelemetryExtensions.TracesExported)
    {
        silo.AddActivityPropagation();
    }

    if (dashboard.Enabled)
    {
        silo.AddDashboard();
    }
});

builder.Services.AddSingleton(TimeProvider.System);
var generatorId = builder.Configuration["Node:GeneratorId"] is null && cluster.IsClustered
    ? await GeneratorIds.LeaseAsync(cluster.Redis!, cluster.Id)
    : node.GeneratorId;
builder.Services.AddSingleton(sp => new NpidGenerator(generatorId, sp.GetRequiredService<TimeProvider>()));
builder.Services.AddSingleton(cluster.IsClustered ? await ClusterSecrets.GetOrCreateAsync(cluster.Redis!, cluster.Id) : ClusterSecret.Random());
builder.Services.AddNefeleAuthorization();
builder.Services.AddKeyRateLimiting();
builder.Services.AddSingleton<LogQueryCursors>();
builder.Services.AddSingleton<ProcCallHandler>();
builder.Services.AddSingleton<HostAgentChannel>();
builder.Services.AddSingleton<IHostAgentChannel>(sp => sp.GetRequiredService<HostAgentChannel>());
builder.Services.AddHostedService(sp => sp.GetRequiredService<HostAgentChannel>());
builder.Services.AddHostedService<ClusterPeersPublisher>();
builder.Services.AddNefeleTelemetry(builder.Configuration, node.Name, cluster.Id);

builder.Services.ConfigureHttpJsonOptions(o => JsonContract.Apply(o.SerializerOptions));
builder.Services.AddProblemDetails();

// Malformed bodies reach ProblemMapping as exceptions, so they get problem details too.
builder.Services.Configure<Microsoft.AspNetCore.Routing.RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
builder.Services.AddOpenApi(OpenApiDocumentation.Configure);
builder.WebHost.UseUrls(dashboard.Enabled ? [api.Url, dashboard.Url(api)] : [api.Url]);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    // A body without a Content-Length stops at the limit while it is read; RequestLimits refuses one
    // with a length before. The request line may be longer than the API's URL limit, so that the API
    // answers long URLs with problem details.
    kestrel.Limits.MaxRequestBodySize = Nefele.Validation.Limits.MaxRequestBodyBytes;
    kestrel.Limits.MaxRequestLineSize = ApiOptions.ServerRequestLineBytes;
});

var app = builder.Build();
app.Use(ProblemMapping.Middleware);
app.UseStatusCodePages(ProblemMapping.EmptyErrorBody);
app.Use(RequestLimits.Middleware);
if (dashboard.Enabled)
{
    app.Use(dashboard.KeepToItsPort);
}

// The attach endpoint's WebSocket (AttachEndpoint).
app.UseWebSockets();
app.UseAuthentication();
app.UseRateLimiter();
app.UseAuthorization();
app.UseCredentialForwarding();
app.MapOpenApi("/openapi/{documentName}.json");
app.MapProcessEndpoints();
app.MapAttachEndpoint();
app.MapTenantEndpoints();
app.MapNodeEndpoints();
app.MapMessagingEndpoints();
app.MapNameEndpoints();
app.MapSupervisorEndpoints();
app.MapImageEndpoints();
app.MapDefaultImageEndpoint();
var metrics = app.MapPrometheusScrapingEndpoint("/metrics").DescribeScrape();
const string MetricsSummary = "Prometheus scrape: Nefele's and Orleans' meters, this node's processes, ASP.NET Core, and the silo process's runtime";
if (api.AnonymousMetrics)
{
    metrics.AllowAnonymous().AnonymousOperation("metrics", MetricsSummary);
}
else
{
    metrics.RequireAuthorization(Policies.AnyKey).Operation("metrics", MetricsSummary);
}
if (dashboard.Enabled)
{
    app.MapOrleansDashboard().AllowAnonymous().WithMetadata(DashboardSettings.Marker).ExcludeFromDescription();
}

app.Run();
return 0;
