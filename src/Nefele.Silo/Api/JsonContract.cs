using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Nefele.Auth;
using Nefele.Client;

namespace Nefele.Silo.Api;

/// <summary>
/// The REST API's JSON rules, for bodies in and out: one spelling per field (camelCase, case
/// sensitive), unknown and duplicate fields refused, numbers only as JSON numbers, null only where
/// the contract type allows it, and enums by name. A field the contract type leaves out of JSON
/// (such as a spawn's parent, which only hostd's process socket sets) is an unknown field.
/// </summary>
internal static class JsonContract
{
    public static void Apply(JsonSerializerOptions options)
    {
        options.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
        options.PropertyNameCaseInsensitive = false;
        options.UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow;
        options.AllowDuplicateProperties = false;
        options.NumberHandling = JsonNumberHandling.Strict;
        options.RespectNullableAnnotations = true;
        options.RespectRequiredConstructorParameters = true;
        options.DefaultIgnoreCondition = JsonIgnoreCondition.Never;
        options.Converters.Add(new RoleJsonConverter());
        options.Converters.Add(new JsonStringEnumConverter(namingPolicy: null, allowIntegerValues: false));
        options.TypeInfoResolver = JsonTypeInfoResolver.WithAddedModifier(
            options.TypeInfoResolver ?? new DefaultJsonTypeInfoResolver(), StrictMembers);
    }

    /// <summary>Raised when a body sets a field the server computes (such as a task's commandLine).</summary>
    public const string ComputedField = "computed field";

    /// <summary>
    /// A [JsonIgnore] member stays in the contract as a name to skip silently; taken out, a body that
    /// names it is refused like any other unknown field. A get-only member (computed, written in
    /// answers) would be skipped silently too; setting it is refused instead.
    /// </summary>
    private static void StrictMembers(JsonTypeInfo type)
    {
        if (type.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        for (var i = type.Properties.Count - 1; i >= 0; i--)
        {
            var property = type.Properties[i];
            if (property.Get is null && property.Set is null)
            {
                type.Properties.RemoveAt(i);
            }
            else if (property.Set is null)
            {
                property.Set = (_, _) => throw new JsonException(ComputedField);
            }
        }
    }
}
