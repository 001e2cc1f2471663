using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using Nefele.Cli.Json;
using Nefele.Cli.Output;
using Nefele.Cli.Parsing;
using Nefele.Client;
using Nefele.Validation;

namespace Nefele.Cli.Commands;

/// <summary>
/// sup start [--name N] [FILE.json|-] [--json]: starts a durable supervisor from a spec (the REST API's
/// body, plus its "name" unless --name gives it; standard input without FILE or with "-") and prints it
/// once every child runs.
/// </summary>
internal sealed record SupStartCommand(string? File, string? Name, bool Json) : INefCommand
{
    public bool Waits => true;

    public async Task<int> RunAsync(CommandContext context, CancellationToken ct)
    {
        var (name, spec) = Parse(await ReadAsync(context, ct).ConfigureAwait(false));
        var status = await context.Supervisors("sup start").StartSupervisorAsync(name, spec, ct).ConfigureAwait(false);
        if (Json)
        {
            await context.WriteJsonAsync(status, NefJsonContext.Default.SupervisorStatus, ct).ConfigureAwait(false);
        }
        else
        {
            await SupervisorTable.WriteShowAsync(context.Out, status).ConfigureAwait(false);
        }

        return NefApp.Ok;
    }

    private string Source => File is null or "-" ? "standard input" : File;

    private async Task<string> ReadAsync(CommandContext context, CancellationToken ct)
    {
        try
        {
            if (File is null or "-")
            {
                using var reader = new StreamReader(context.In());
                return await reader.ReadToEndAsync(ct).ConfigureAwait(false);
            }

            return await System.IO.File.ReadAllTextAsync(File, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"sup start: cannot read {Source}: {e.Message}", e);
        }
    }

    /// <summary>
    /// The name (--name, else the file's "name") and the spec, the rest of the file as it is: the node
    /// checks it by the shared rules (a bad one is refused there, naming what is wrong, and nothing
    /// starts). Here only fields the spec does not have are refused, which the node would ignore.
    /// </summary>
    private (string Name, JsonObject Spec) Parse(string text)
    {
        string? name = Name;
        JsonObject body;
        try
        {
            body = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }) as JsonObject
                ?? throw new UsageException($"sup start: {Source} is not a JSON object (a supervisor spec: {{\"name\": ..., \"strategy\": ..., \"children\": [...]}})");
            if (body["name"] is { } named)
            {
                var inFile = named.GetValueKind() == JsonValueKind.String ? named.GetValue<string>() : throw new UsageException($"sup start: {Source}: \"name\" must be a string");
                name = name is null || name == inFile ? inFile : throw new UsageException($"sup start: --name {name} and the name {inFile} in {Source} differ");
                body.Remove("name");
            }

            _ = body.Deserialize(StrictSpec);
        }
        catch (JsonException e)
        {
            throw new UsageException($"sup start: {Source}: {e.Message}", e);
        }

        if (name is null)
        {
            throw new UsageException($"sup start: no name: give --name N or \"name\" in {Source}");
        }

        try
        {
            SupervisorSpecs.ValidateName(name);
        }
        catch (NefeleException e)
        {
            throw new UsageException($"sup start: {e.Message}", e);
        }

        return (name, body);
    }

    /// <summary>The contract's JSON, refusing fields it does not have (a misspelt "poolSise" would otherwise be silently 0).</summary>
    private static readonly JsonTypeInfo<SupervisorSpec> StrictSpec = (JsonTypeInfo<SupervisorSpec>)new JsonSerializerOptions(NefJsonContext.Default.Options)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    }.GetTypeInfo(typeof(SupervisorSpec));
}
