using Nefele.Errors;

namespace Nefele.Silo.Api;

/// <summary>NefeleException → RFC 9457 problem details with the stable code.</summary>
internal static class ProblemMapping
{
    public static int Status(string code) => code switch
    {
        ErrorCodes.NpidNotFound => StatusCodes.Status404NotFound,
        ErrorCodes.SpawnRejected => StatusCodes.Status422UnprocessableEntity,
        ErrorCodes.NotRunning => StatusCodes.Status409Conflict,
        ErrorCodes.RequestConflict => StatusCodes.Status409Conflict,
        ErrorCodes.NodeUnavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorCodes.Unauthenticated => StatusCodes.Status401Unauthorized,
        ErrorCodes.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCodes.TenantNotFound or ErrorCodes.KeyNotFound => StatusCodes.Status404NotFound,
        ErrorCodes.TenantExists or ErrorCodes.KeyExists => StatusCodes.Status409Conflict,
        ErrorCodes.QuotaExceeded or ErrorCodes.RateLimited => StatusCodes.Status429TooManyRequests,
        ErrorCodes.InternalError => StatusCodes.Status500InternalServerError,
        _ => StatusCodes.Status400BadRequest,
    };

    public static IResult ToProblem(string code, string message) => Results.Problem(
        statusCode: Status(code),
        title: code.Replace('_', ' '),
        detail: message,
        type: $"https://nefele.dev/errors/{code}",
        extensions: new Dictionary<string, object?> { ["code"] = code });

    /// <summary>Turns every NefeleException and malformed request into problem details.</summary>
    public static async Task Middleware(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (NefeleException e) when (!context.Response.HasStarted)
        {
            await ToProblem(e.Code, e.Message).ExecuteAsync(context);
        }
        catch (BadHttpRequestException e) when (!context.Response.HasStarted)
        {
            await ToProblem(ErrorCodes.BadRequest, e.InnerException?.Message ?? e.Message).ExecuteAsync(context);
        }
    }
}
