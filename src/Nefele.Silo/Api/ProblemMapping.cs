using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;

namespace Nefele.Silo.Api;

/// <summary>
/// Every error the REST API answers is an RFC 9457 problem details body with a stable code
/// (<c>type</c> https://nefele.dev/errors/&lt;code&gt; and the <c>code</c> member): one fault, one
/// status and code, whichever layer found it, and a sentence in the contract's terms.
/// </summary>
internal static partial class ProblemMapping
{
    public const string ContentType = "application/problem+json";

    public static int Status(string code) => code switch
    {
        ErrorCodes.NpidNotFound => StatusCodes.Status404NotFound,
        ErrorCodes.SpawnRejected or ErrorCodes.ProgramNotFound => StatusCodes.Status422UnprocessableEntity,
        ErrorCodes.NotRunning => StatusCodes.Status409Conflict,
        ErrorCodes.RequestConflict => StatusCodes.Status409Conflict,
        ErrorCodes.NodeUnavailable => StatusCodes.Status503ServiceUnavailable,
        ErrorCodes.Unauthenticated => StatusCodes.Status401Unauthorized,
        ErrorCodes.Forbidden => StatusCodes.Status403Forbidden,
        ErrorCodes.TenantNotFound or ErrorCodes.KeyNotFound or ErrorCodes.RouteNotFound => StatusCodes.Status404NotFound,
        ErrorCodes.TenantExists or ErrorCodes.KeyExists => StatusCodes.Status409Conflict,
        ErrorCodes.SupervisorNotFound => StatusCodes.Status404NotFound,
        ErrorCodes.SupervisorExists => StatusCodes.Status409Conflict,
        ErrorCodes.ImageNotFound => StatusCodes.Status404NotFound,
        ErrorCodes.DigestMismatch => StatusCodes.Status400BadRequest,
        ErrorCodes.OverlayNotFound => StatusCodes.Status404NotFound,
        ErrorCodes.NotDevelopmentMode => StatusCodes.Status409Conflict,
        ErrorCodes.FailedToStart => StatusCodes.Status422UnprocessableEntity,
        ErrorCodes.QuotaExceeded or ErrorCodes.RateLimited or ErrorCodes.LimitExceeded => StatusCodes.Status429TooManyRequests,
        ErrorCodes.MethodNotAllowed => StatusCodes.Status405MethodNotAllowed,
        ErrorCodes.PayloadTooLarge => StatusCodes.Status413PayloadTooLarge,
        ErrorCodes.UriTooLong => StatusCodes.Status414UriTooLong,
        ErrorCodes.UnsupportedMediaType => StatusCodes.Status415UnsupportedMediaType,
        ErrorCodes.InternalError => StatusCodes.Status500InternalServerError,
        ErrorCodes.MailboxFull => StatusCodes.Status429TooManyRequests,
        ErrorCodes.NameNotFound => StatusCodes.Status404NotFound,
        ErrorCodes.TimedOut => StatusCodes.Status408RequestTimeout,
        ErrorCodes.MessageTooLarge => StatusCodes.Status413PayloadTooLarge,
        _ => StatusCodes.Status400BadRequest,
    };

    public static IResult ToProblem(string code, string message) => Results.Problem(
        statusCode: Status(code),
        title: Title(code),
        detail: message,
        type: TypeUri(code),
        extensions: new Dictionary<string, object?> { ["code"] = code });

    /// <summary>The same problem as a body of its own (e.g. the data of a stream's 'error' event, once the status is sent).</summary>
    public static ApiProblem Describe(string code, string message) => new()
    {
        Type = TypeUri(code),
        Title = Title(code),
        Status = Status(code),
        Detail = message,
        Code = code,
    };

    private static string Title(string code) => code.Replace('_', ' ');

    private static string TypeUri(string code) => $"https://nefele.dev/errors/{code}";

    /// <summary>Turns every NefeleException, malformed request and unexpected fault into problem details.</summary>
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
            var (code, message) = Describe(context, e);
            await ToProblem(code, message).ExecuteAsync(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nobody is left to answer.
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ProblemMapping))
                .LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
            await ToProblem(ErrorCodes.InternalError, "internal error; the node's log has the details").ExecuteAsync(context);
        }
    }

    /// <summary>
    /// An error status that left the body empty (no route, wrong method, a body cut off at the size
    /// limit by the server) gets the problem body its status stands for.
    /// </summary>
    public static async Task EmptyErrorBody(StatusCodeContext status)
    {
        var http = status.HttpContext;
        var request = http.Request;
        var (code, message) = http.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => (ErrorCodes.RouteNotFound, $"no route {request.Method} {Shorten(request.Path)}; the routes are listed in /openapi/v1.json"),
            StatusCodes.Status405MethodNotAllowed => (ErrorCodes.MethodNotAllowed, $"{request.Method} is not allowed on {Shorten(request.Path)}; allowed: {http.Response.Headers.Allow}"),
            StatusCodes.Status413PayloadTooLarge => (ErrorCodes.PayloadTooLarge, BodyTooLarge(request.ContentLength, Validation.Limits.MaxRequestBodyBytes)),
            StatusCodes.Status415UnsupportedMediaType => (ErrorCodes.UnsupportedMediaType, NotJson(request.ContentType)),
            StatusCodes.Status401Unauthorized => (ErrorCodes.Unauthenticated, "no credential: send an API key (Authorization: Bearer nfk_…)"),
            StatusCodes.Status403Forbidden => (ErrorCodes.Forbidden, "this key does not grant this action"),
            StatusCodes.Status429TooManyRequests => (ErrorCodes.RateLimited, "too many requests with this key; slow down and retry"),
            >= 500 => (ErrorCodes.InternalError, "internal error; the node's log has the details"),
            _ => (ErrorCodes.BadRequest, "malformed request"),
        };
        await ToProblem(code, message).ExecuteAsync(http);
    }

    public static string BodyTooLarge(long? length, long limit) => length is { } n
        ? $"the request body is {n} bytes, over the {limit}-byte limit"
        : $"the request body is over the {limit}-byte limit";

    public static string NotJson(string? contentType) => string.IsNullOrEmpty(contentType)
        ? "the request has no Content-Type; send the body as application/json"
        : $"the body must be application/json, not {Shorten(contentType)}";

    /// <summary>What a request the framework could not bind was wrong with, in the contract's terms.</summary>
    private static (string Code, string Message) Describe(HttpContext context, BadHttpRequestException e)
    {
        if (e.InnerException is JsonException json)
        {
            var bodyType = context.GetEndpoint()?.Metadata.GetMetadata<IAcceptsMetadata>()?.RequestType;
            var options = context.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
            return (ErrorCodes.InvalidJson, "invalid JSON body: " + JsonBodyErrors.Describe(json, bodyType, options));
        }

        if (e.StatusCode == StatusCodes.Status415UnsupportedMediaType)
        {
            return (ErrorCodes.UnsupportedMediaType, NotJson(context.Request.ContentType));
        }

        if (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (ErrorCodes.PayloadTooLarge, BodyTooLarge(context.Request.ContentLength, Validation.Limits.MaxRequestBodyBytes));
        }

        if (BindFailure().Match(e.Message) is { Success: true } bind)
        {
            var type = bind.Groups["type"].Value;
            var expected = type.Contains("bool", StringComparison.OrdinalIgnoreCase) ? "true or false"
                : type.Contains("int", StringComparison.OrdinalIgnoreCase) || type.Contains("long", StringComparison.OrdinalIgnoreCase) ? "an integer"
                : "of the documented type";
            return (ErrorCodes.BadRequest, $"query parameter '{bind.Groups["name"].Value}' must be {expected}, not '{Shorten(bind.Groups["value"].Value)}'");
        }

        if (e.Message.Contains("body", StringComparison.OrdinalIgnoreCase))
        {
            // A body that is there but reads as nothing is the JSON literal null.
            return context.Request.ContentLength > 0
                ? (ErrorCodes.InvalidJson, "invalid JSON body: the body must be a JSON object")
                : (ErrorCodes.BadRequest, "the request needs a JSON body");
        }

        return (ErrorCodes.BadRequest, "malformed request");
    }

    private static string Shorten(string? s) => s is null ? string.Empty : s.Length <= 120 ? s : s[..120] + "…";

    [GeneratedRegex("^Failed to bind parameter \"(?<type>[^\"]+) (?<name>[^\" ]+)\" from \"(?<value>.*)\"\\.$", RegexOptions.Singleline)]
    private static partial Regex BindFailure();
}
