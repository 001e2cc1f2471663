using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Silo.Api;

namespace Nefele.Silo.Auth;

/// <summary>401 and 403 as problem details with stable codes and the reason (which key, which tenant, which role).</summary>
internal sealed class ProblemAuthorizationResultHandler : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Challenged)
        {
            var reason = context.Items[ApiKeyAuthenticationHandler.Items.Failure] as string
                ?? "no credential: send an API key (Authorization: Bearer nfk_…)";
            context.Response.Headers.WWWAuthenticate = "Bearer";
            await ProblemMapping.ToProblem(ErrorCodes.Unauthenticated, reason).ExecuteAsync(context);
            return;
        }

        if (authorizeResult.Forbidden)
        {
            var reason = authorizeResult.AuthorizationFailure?.FailureReasons.FirstOrDefault()?.Message ?? "this key does not grant this action";
            await ProblemMapping.ToProblem(ErrorCodes.Forbidden, reason).ExecuteAsync(context);
            return;
        }

        await _default.HandleAsync(next, context, policy, authorizeResult);
    }
}
