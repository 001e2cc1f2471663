using System.Text.Json;
using Nefele.Cli.Json;
using Nefele.Client;
using Nefele.Processes;

namespace Nefele.Cli.Parsing;

/// <summary>
/// Reads a cspawn file — {"tasks":[{"path":…,"args":[…],"cpu":"250m","mem":"64Mi","env":{…},
/// "name":…,"cwd":…,"count":2,"noHandshake":false,"devices":{"gpu":1},"affinity":["label:zone=a"],
/// "antiAffinity":["name:web"]}],"spread":true} — into spawn tasks, each task repeated count times.
/// </summary>
internal static class CspawnFile
{
    /// <summary>Upper bound on tasks after expanding count, so a typo cannot build a huge request.</summary>
    public const int MaxTasks = Validation.Limits.MaxTasksPerRequest;

    public static IReadOnlyList<ProcessSpec> Parse(string json, string fileName) => Parse(json, fileName, out _);

    /// <summary>The tasks, and the file's top-level "spread".</summary>
    public static IReadOnlyList<ProcessSpec> Parse(string json, string fileName, out bool spread)
    {
        CspawnFileDto? file;
        try
        {
            file = JsonSerializer.Deserialize(json, NefJsonContext.Default.CspawnFileDto);
        }
        catch (JsonException e)
        {
            throw new UsageException($"cspawn: {fileName}: {e.Message}", e);
        }

        if (file?.Tasks is not { Count: > 0 } tasks)
        {
            throw new UsageException($"cspawn: {fileName}: no tasks (expected {{\"tasks\":[{{\"path\":\"/bin/prog\"}}]}})");
        }

        spread = file.Spread;

        var expanded = new List<ProcessSpec>();
        for (var i = 0; i < tasks.Count; i++)
        {
            var where = $"cspawn: {fileName}: tasks[{i}]";
            var task = tasks[i] ?? throw new UsageException($"{where} is null");
            if (string.IsNullOrEmpty(task.Path))
            {
                throw new UsageException($"{where}.path is missing");
            }

            var count = task.Count ?? 1;
            if (count < 1)
            {
                throw new UsageException($"{where}.count must be at least 1, got {count}");
            }

            var spec = new ProcessSpec
            {
                Path = task.Path,
                Args = task.Args ?? [],
                Env = task.Env ?? new Dictionary<string, string>(),
                Cwd = task.Cwd,
                Name = task.Name,
                CpuMillis = task.Cpu is { } cpu ? Units.ParseCpu(Quantity(cpu, $"{where}.cpu"), $"{where}.cpu") : 0,
                MemoryBytes = task.Mem is { } mem ? Units.ParseMemory(Quantity(mem, $"{where}.mem"), $"{where}.mem") : 0,
                NoHandshake = task.NoHandshake,
                Devices = task.Devices ?? new Dictionary<string, long>(),
                Affinity = task.Affinity ?? [],
                AntiAffinity = task.AntiAffinity ?? [],
            };
            if (expanded.Count + count > MaxTasks)
            {
                throw new UsageException($"cspawn: {fileName}: more than {MaxTasks} tasks after expanding count");
            }

            expanded.AddRange(Enumerable.Repeat(spec, count));
        }

        return expanded;
    }

    private static string Quantity(JsonElement value, string what) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString()!,
        JsonValueKind.Number => value.GetRawText(),
        JsonValueKind.Null => "0",
        _ => throw new UsageException($"{what} must be a string like \"250m\" or \"64Mi\", or a number"),
    };
}
