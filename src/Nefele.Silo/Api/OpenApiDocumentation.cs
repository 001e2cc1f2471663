using System.Reflection;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Nefele.Client;
using Nefele.Errors;

namespace Nefele.Silo.Api;

/// <summary>
/// The OpenAPI document's parts that no route declares: the title, the tags, and the bearer API key
/// scheme, which every operation requires except those open without a key (healthz; metrics with
/// --anonymous-metrics).
/// </summary>
internal static class OpenApiDocumentation
{
    public const string SecurityScheme = "apiKey";

    private static readonly Dictionary<string, string> Tags = new()
    {
        ["processes"] = "A tenant's processes: spawn, ps, monitor, signal, logs",
        ["tenants"] = "Tenants, their quotas and API keys, and the caller's own key",
        ["nodes"] = "The cluster's nodes and this node's health",
        ["hollow nodes"] = "Simulated nodes for placement benchmarks (admin, with --allow-hollow-nodes)",
        ["telemetry"] = "Prometheus metrics",
        ["messaging"] = "Messages to a tenant's processes and mailboxes, and the caller's own mailbox",
    };

    private static readonly string[] Codes = [.. typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)];

    public static void Configure(OpenApiOptions options)
    {
        options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "Nefele management API",
                Version = "v1",
                Description = "Spawn and manage a tenant's processes across the cluster. Every request needs an API key "
                    + "(Authorization: Bearer nfk_…); every error is an RFC 9457 problem details body whose 'code' is stable. "
                    + "Request bodies are strict JSON: unknown or duplicate fields, and numbers given as strings, are refused.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[SecurityScheme] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "nfk_<key id>_<secret>",
                Description = "A Nefele API key (nef key create), sent as Authorization: Bearer <key>",
            };
            foreach (var server in document.Servers ?? [])
            {
                // The request's own base address, without the trailing '/' (paths start with one).
                server.Url = server.Url?.TrimEnd('/');
            }

            document.Tags = new HashSet<OpenApiTag>(Tags.Select(t => new OpenApiTag { Name = t.Key, Description = t.Value }));
            return Task.CompletedTask;
        });

        options.AddSchemaTransformer((schema, context, _) =>
        {
            // Enums travel as names (JsonStringEnumConverter, RoleJsonConverter).
            if (context.JsonTypeInfo.Type.IsEnum && schema.Enum is { Count: > 0 } && schema.Type is null)
            {
                schema.Type = JsonSchemaType.String;
            }

            // A problem's code is one of the catalogue's.
            if (context.JsonTypeInfo.Type == typeof(ApiProblem) && schema.Properties?.TryGetValue("code", out var code) == true && code is OpenApiSchema codes)
            {
                codes.Enum = [.. Codes.Select(c => (JsonNode)JsonValue.Create(c))];
            }

            // A computed member (get-only: a task's commandLine, an end's description) is in answers only.
            if (context.JsonTypeInfo.Kind == JsonTypeInfoKind.Object && schema.Properties is { } properties)
            {
                foreach (var property in context.JsonTypeInfo.Properties)
                {
                    if (property.AttributeProvider is PropertyInfo { CanWrite: false } && properties.TryGetValue(property.Name, out var member) && member is OpenApiSchema writable)
                    {
                        writable.ReadOnly = true;
                    }
                }
            }

            return Task.CompletedTask;
        });

        options.AddOperationTransformer((operation, context, _) =>
        {
            var anonymous = context.Description.ActionDescriptor.EndpointMetadata.OfType<Microsoft.AspNetCore.Authorization.IAllowAnonymous>().Any();
            operation.Security = anonymous
                ? []
                : [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecurityScheme, context.Document)] = [] }];
            return Task.CompletedTask;
        });
    }
}
