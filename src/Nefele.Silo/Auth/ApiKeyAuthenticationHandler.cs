using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Nefele.Auth;
using Nefele.Client;
using Nefele.Errors;

namespace Nefele.Silo.Auth;

/// <summary>
/// The REST API's authentication scheme: <c>Authorization: Bearer nfk_…</c>, checked by the same
/// <see cref="CredentialValidator"/> as the grain call filter. A request without the header is
/// anonymous (routes that need a key answer 401); a header with a bad key fails with the reason.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    CredentialValidator credentials) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (string.IsNullOrEmpty(header))
        {
            return AuthenticateResult.NoResult();
        }

        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Failed("the Authorization header must be 'Bearer <API key>'");
        }

        var token = header["Bearer ".Length..].Trim();
        Principal principal;
        try
        {
            principal = await credentials.ValidateAsync(token);
        }
        catch (NefeleException e) when (e.Code == ErrorCodes.Unauthenticated)
        {
            return Failed(e.Message);
        }

        Context.Items[Items.Token] = token;
        Context.Items[Items.Principal] = principal;
        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, principal.KeyId),
            new(ClaimTypes.Name, principal.KeyName),
            new(ClaimTypes.Role, principal.Role.ToString()),
        };
        if (principal.Tenant is { } tenant)
        {
            claims.Add(new Claim(TenantClaim, tenant));
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    private AuthenticateResult Failed(string reason)
    {
        Context.Items[Items.Failure] = reason;
        return AuthenticateResult.Fail(reason);
    }

    public const string TenantClaim = "nefele:tenant";

    /// <summary>What authentication leaves on the request for the layers after it.</summary>
    public static class Items
    {
        public const string Token = "nefele.token";
        public const string Principal = "nefele.principal";
        public const string Failure = "nefele.auth-failure";
    }
}
