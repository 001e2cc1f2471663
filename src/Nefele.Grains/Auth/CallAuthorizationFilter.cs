using System.Collections.Concurrent;
using System.Reflection;
using Nefele.Client;
using Nefele.Errors;
using Orleans.Runtime;

namespace Nefele.Auth;

/// <summary>
/// Every grain call into Nefele's grains passes here. The silos' own calls carry the cluster
/// secret and pass. Any other call must be to a method marked <see cref="AccessAttribute"/> and
/// carry an API key that grants that method's role in the tenant it names; a call about another
/// tenant's process is answered exactly as if the NPID did not exist.
/// </summary>
public sealed class CallAuthorizationFilter(ClusterSecret secret, CredentialValidator credentials) : IIncomingGrainCallFilter
{
    private static readonly Assembly Contracts = typeof(Principal).Assembly;
    private static readonly ConcurrentDictionary<MethodInfo, Rule?> Rules = new();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var method = context.InterfaceMethod;
        if (method?.DeclaringType?.Assembly != Contracts || secret.Matches(RequestContext.Get(CallCredentials.System) as string))
        {
            await context.Invoke();
            return;
        }

        var rule = Rules.GetOrAdd(method, RuleOf);
        if (rule is null)
        {
            throw new NefeleException(ErrorCodes.Forbidden, $"{method.DeclaringType.Name}.{method.Name} is internal to the cluster");
        }

        var principal = await credentials.ValidateAsync(RequestContext.Get(CallCredentials.ApiKey) as string);
        Authorize(rule, principal, context);

        // The grain acts for its caller only through the tenant it was given, so the calls it
        // makes while serving this one are the silo's (what SystemCallStamp would mark each of
        // them with): stamped once here, for this call's turn only, and without the key. Each of
        // those calls then neither copies the request context to stamp it nor carries the key.
        RequestContext.Remove(CallCredentials.ApiKey);
        RequestContext.Set(CallCredentials.System, secret.Value);
        await context.Invoke();
    }

    private static void Authorize(Rule rule, Principal principal, IIncomingGrainCallContext context)
    {
        var key = context.TargetId.Key.ToString()!;
        switch (rule.TenantFrom)
        {
            case TenantFrom.Cluster:
                if (rule.Role == Role.Admin && !principal.IsAdmin)
                {
                    throw new NefeleException(ErrorCodes.Forbidden, $"key {principal.KeyName} is not an admin key");
                }

                return;
            case TenantFrom.ArgumentHidingNpid:
                if (context.Request.GetArgument(rule.TenantArgument) is not string tenant || !principal.Grants(tenant, rule.Role))
                {
                    throw NefeleException.NotFound(key);
                }

                return;
            default:
                // A key whose prefix is not a tenant name grants nothing (never split elsewhere).
                var named = rule.TenantFrom == TenantFrom.GrainKey ? key : Validation.GrainKeys.TenantOf(key) ?? key;
                if (!Validation.Names.IsTenantName(named) || !principal.Grants(named, rule.Role))
                {
                    throw Denied(principal, named, rule.Role);
                }

                return;
        }
    }

    public static NefeleException Denied(Principal principal, string tenant, Role needed) =>
        new(ErrorCodes.Forbidden, principal.Tenant == tenant || principal.IsAdmin
            ? $"key {principal.KeyName} has role {principal.Role.ToString().ToLowerInvariant()} in tenant {tenant}; this needs {needed.ToString().ToLowerInvariant()}"
            : $"key {principal.KeyName} does not grant access to tenant {tenant}");

    private static Rule? RuleOf(MethodInfo method)
    {
        if (method.GetCustomAttribute<AccessAttribute>() is not { } access)
        {
            return null;
        }

        var index = -1;
        if (access.TenantFrom == TenantFrom.ArgumentHidingNpid)
        {
            index = Array.FindIndex(method.GetParameters(), p => p.Name == "tenant");
            if (index < 0)
            {
                throw new InvalidOperationException($"{method.DeclaringType?.Name}.{method.Name} is marked {access.TenantFrom} but has no 'tenant' parameter");
            }
        }

        return new Rule(access.Role, access.TenantFrom, index);
    }

    private sealed record Rule(Role Role, TenantFrom TenantFrom, int TenantArgument);
}
