using Microsoft.AspNetCore.Authorization;
using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Silo.Auth;

/// <summary>Decides <see cref="TenantRoleRequirement"/> with the same rule the grain call filter uses (<see cref="Principal.Grants"/>).</summary>
internal sealed class TenantRoleHandler : AuthorizationHandler<TenantRoleRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, TenantRoleRequirement requirement)
    {
        if (context.Resource is not HttpContext http || http.Items[ApiKeyAuthenticationHandler.Items.Principal] is not Principal principal)
        {
            return Task.CompletedTask;
        }

        if (requirement.ClusterWide)
        {
            if (requirement.Role != Role.Admin || principal.IsAdmin)
            {
                context.Succeed(requirement);
            }
            else
            {
                context.Fail(new AuthorizationFailureReason(this, $"key {principal.KeyName} is not an admin key"));
            }

            return Task.CompletedTask;
        }

        var tenant = http.GetRouteValue("tenant") as string ?? string.Empty;
        if (principal.Grants(tenant, requirement.Role))
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, CallAuthorizationFilter.Denied(principal, tenant, requirement.Role).Message));
        }

        return Task.CompletedTask;
    }
}
