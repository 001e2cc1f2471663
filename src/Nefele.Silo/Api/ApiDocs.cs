using Microsoft.AspNetCore.Http.Metadata;

namespace Nefele.Silo.Api;

/// <summary>
/// What each route declares for the OpenAPI document: its operationId, summary and the problem
/// details it may answer. Statuses every keyed route can answer (401 no or bad key, 414 URL too long,
/// 429 rate limited, 500) are added to the ones the route names.
/// </summary>
internal static class ApiDocs
{
    /// <summary>Statuses of a route with a JSON body, on top of its own: 400 invalid, 413 too large, 415 not JSON.</summary>
    public static readonly int[] Body = [StatusCodes.Status400BadRequest, StatusCodes.Status413PayloadTooLarge, StatusCodes.Status415UnsupportedMediaType];

    private static readonly int[] Keyed = [StatusCodes.Status401Unauthorized, StatusCodes.Status414UriTooLong, StatusCodes.Status429TooManyRequests, StatusCodes.Status500InternalServerError];

    private static readonly int[] Anonymous = [StatusCodes.Status414UriTooLong, StatusCodes.Status429TooManyRequests, StatusCodes.Status500InternalServerError];

    /// <summary>A route that needs a key.</summary>
    public static TBuilder Operation<TBuilder>(this TBuilder builder, string operationId, string summary, params IEnumerable<int> problems)
        where TBuilder : IEndpointConventionBuilder =>
        builder.Describe(operationId, summary, Keyed.Concat(problems));

    /// <summary>A route open without a key (healthz, and metrics when the operator chooses).</summary>
    public static TBuilder AnonymousOperation<TBuilder>(this TBuilder builder, string operationId, string summary, params IEnumerable<int> problems)
        where TBuilder : IEndpointConventionBuilder =>
        builder.Describe(operationId, summary, Anonymous.Concat(problems));

    private static TBuilder Describe<TBuilder>(this TBuilder builder, string operationId, string summary, IEnumerable<int> problems)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.WithName(operationId).WithSummary(summary);
        foreach (var status in problems.Distinct().Order())
        {
            builder.WithMetadata(new ProducesResponseTypeMetadata(status, typeof(ApiProblem), [ProblemMapping.ContentType]));
        }

        return builder;
    }
}
