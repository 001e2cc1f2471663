using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Silo.Auth;

/// <summary>The REST API's authorization policies: one per role in the route's tenant, and the cluster-wide ones.</summary>
internal static class Policies
{
    public const string TenantViewer = "tenant-viewer";
    public const string TenantMember = "tenant-member";
    public const string TenantOwner = "tenant-owner";
    public const string Admin = "admin";

    /// <summary>Any valid key (cluster-wide read-only views such as the node list).</summary>
    public const string AnyKey = "any-key";

    public static IServiceCollection AddNefeleAuthorization(this IServiceCollection services)
    {
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, TenantRoleHandler>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, ProblemAuthorizationResultHandler>();
        services.AddAuthorizationBuilder()
            .AddPolicy(TenantViewer, p => p.RequireAuthenticatedUser().AddRequirements(new TenantRoleRequirement(Role.Viewer, clusterWide: false)))
            .AddPolicy(TenantMember, p => p.RequireAuthenticatedUser().AddRequirements(new TenantRoleRequirement(Role.Member, clusterWide: false)))
            .AddPolicy(TenantOwner, p => p.RequireAuthenticatedUser().AddRequirements(new TenantRoleRequirement(Role.Owner, clusterWide: false)))
            .AddPolicy(Admin, p => p.RequireAuthenticatedUser().AddRequirements(new TenantRoleRequirement(Role.Admin, clusterWide: true)))
            .AddPolicy(AnyKey, p => p.RequireAuthenticatedUser())
            // A route that names no policy still needs a valid key: nothing is open by omission.
            .SetFallbackPolicy(new Microsoft.AspNetCore.Authorization.AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        return services;
    }

    /// <summary>
    /// After authorization: the caller's key travels with the grain calls this request makes, so
    /// the grain call filter checks them with the same rules as the SDK's.
    /// </summary>
    public static IApplicationBuilder UseCredentialForwarding(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Items[ApiKeyAuthenticationHandler.Items.Token] is string token)
        {
            Orleans.Runtime.RequestContext.Set(CallCredentials.ApiKey, token);
        }

        await next(context);
    });
}
