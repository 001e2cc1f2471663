using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Nefele.Client;
using Nefele.Errors;

namespace Nefele.Silo.Api;

/// <summary>
/// The URL limit (<see cref="ApiOptions.MaxUrlBytes"/>) and the body limit
/// (<see cref="Validation.Limits.MaxRequestBodyBytes"/>), checked before authentication and before
/// any byte of the body is read: an oversized body is refused from its Content-Length (a client that
/// sent "Expect: 100-continue" never sends it), and one without a length stops at the limit
/// (the server's MaxRequestBodySize).
/// </summary>
internal static class RequestLimits
{
    public static async Task Middleware(HttpContext context, RequestDelegate next)
    {
        var limits = context.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value;
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? string.Empty;
        if (target.Length > limits.MaxUrlBytes)
        {
            await ProblemMapping.ToProblem(ErrorCodes.UriTooLong, $"the URL is {target.Length} bytes, over the {limits.MaxUrlBytes}-byte limit").ExecuteAsync(context);
            return;
        }

        // An image layer is the one body larger than a JSON request (ImageEndpoints).
        var layer = ImageEndpoints.IsLayerUpload(context.Request);
        var bodyLimit = layer ? Validation.Limits.MaxImageLayerBytes : Validation.Limits.MaxRequestBodyBytes;
        if (context.Request.ContentLength > bodyLimit)
        {
            // The rest of the body is not worth reading to keep this connection.
            context.Response.Headers.Connection = "close";
            await ProblemMapping.ToProblem(ErrorCodes.PayloadTooLarge, ProblemMapping.BodyTooLarge(context.Request.ContentLength, bodyLimit)).ExecuteAsync(context);
            return;
        }

        if (layer)
        {
            ImageEndpoints.AllowLayerBody(context);
        }

        await next(context);
    }
}
