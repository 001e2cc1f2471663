using System.Text.RegularExpressions;
using Nefele.Errors;
using Nefele.Processes;

namespace Nefele.Placement;

/// <summary>
/// Checks a request before anything is reserved, so bad input changes nothing and the error
/// names the field and what is allowed.
/// </summary>
public static partial class SpecValidator
{
    public static void Validate(SpawnRequest request, int maxTasks)
    {
        if (request.Tasks is null || request.Tasks.Count == 0)
        {
            throw NefeleException.Bad("spawn rejected: the request has no tasks");
        }

        if (request.Count < 1)
        {
            throw NefeleException.Bad($"spawn rejected: count {request.Count} must be at least 1");
        }

        if (request.Tasks.Count > 1 && request.Count != 1)
        {
            throw NefeleException.Bad("spawn rejected: count applies to one task; give several tasks with count 1 instead");
        }

        var total = (long)request.Tasks.Count * request.Count;
        if (total > maxTasks)
        {
            throw NefeleException.Bad($"spawn rejected: {total} tasks asked, at most {maxTasks} per request");
        }

        for (var i = 0; i < request.Tasks.Count; i++)
        {
            Validate(request.Tasks[i], request.Tasks.Count == 1 ? string.Empty : $"task {i}: ");
        }
    }

    public static void Validate(ProcessSpec spec, string where)
    {
        if (string.IsNullOrEmpty(spec.Path))
        {
            throw NefeleException.Bad($"spawn rejected: {where}path is empty");
        }

        if (!spec.Path.StartsWith('/'))
        {
            throw NefeleException.Bad($"spawn rejected: {where}path {spec.Path} is not absolute");
        }

        if (spec.Path.Contains('\0', StringComparison.Ordinal) || spec.Args.Any(a => a is null || a.Contains('\0', StringComparison.Ordinal)))
        {
            throw NefeleException.Bad($"spawn rejected: {where}path and args must not contain NUL");
        }

        if (spec.CpuMillis < 0)
        {
            throw NefeleException.Bad($"spawn rejected: {where}cpu {spec.CpuMillis}m is negative (allowed: 0 for best effort, or millicores > 0)");
        }

        if (spec.MemoryBytes < 0)
        {
            throw NefeleException.Bad($"spawn rejected: {where}memory {spec.MemoryBytes} bytes is negative (allowed: 0 for no limit, or bytes > 0)");
        }

        if (spec.MemoryBytes is > 0 and < MinimumMemory)
        {
            throw NefeleException.Bad($"spawn rejected: {where}memory {spec.MemoryBytes} bytes is below the 1 MiB minimum");
        }

        if (spec.Cwd is { Length: > 0 } cwd && !cwd.StartsWith('/'))
        {
            throw NefeleException.Bad($"spawn rejected: {where}cwd {cwd} is not absolute");
        }

        foreach (var (key, value) in spec.Env)
        {
            if (!EnvName().IsMatch(key))
            {
                throw NefeleException.Bad($"spawn rejected: {where}env name '{key}' is not a valid variable name");
            }

            if (key.StartsWith("NEFELE_", StringComparison.Ordinal))
            {
                throw NefeleException.Bad($"spawn rejected: {where}env {key} is reserved (NEFELE_* is set by the node)");
            }

            if (value is null || value.Contains('\0', StringComparison.Ordinal))
            {
                throw NefeleException.Bad($"spawn rejected: {where}env {key} has a NUL or no value");
            }
        }

        if (spec.Name is { } name && !NameShape().IsMatch(name))
        {
            throw NefeleException.Bad($"spawn rejected: {where}name '{name}' must be 1-64 letters, digits, '.', '_' or '-'");
        }

        foreach (var (device, count) in spec.Devices)
        {
            if (device is null || !DeviceName().IsMatch(device))
            {
                throw NefeleException.Bad($"spawn rejected: {where}device '{device}' must be 1-32 lowercase letters, digits, '.', '_' or '-'");
            }

            if (count is < 1 or > MaxDeviceCount)
            {
                throw NefeleException.Bad($"spawn rejected: {where}device {device} count {count} must be 1..{MaxDeviceCount}");
            }
        }

        if (spec.Affinity.Count + spec.AntiAffinity.Count > MaxSelectors)
        {
            throw NefeleException.Bad($"spawn rejected: {where}{spec.Affinity.Count + spec.AntiAffinity.Count} affinity and anti-affinity selectors given, at most {MaxSelectors}");
        }

        var affinity = spec.Affinity.Select(a => Selector.Parse(a, where)).ToHashSet();
        foreach (var anti in spec.AntiAffinity.Select(a => Selector.Parse(a, where)))
        {
            if (affinity.Contains(anti))
            {
                throw NefeleException.Bad($"spawn rejected: {where}{anti} is both an affinity and an anti-affinity");
            }
        }

        var labels = affinity.Where(a => a.Kind == SelectorKind.Label).GroupBy(a => a.Value).FirstOrDefault(g => g.Count() > 1);
        if (labels is not null)
        {
            throw NefeleException.Bad($"spawn rejected: {where}affinity asks label {labels.Key} to have {labels.Count()} different values");
        }
    }

    /// <summary>Most affinity plus anti-affinity selectors one task may give.</summary>
    public const int MaxSelectors = 32;

    /// <summary>Most of one device one task may ask for.</summary>
    public const long MaxDeviceCount = 1024;

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{0,31}$")]
    private static partial Regex DeviceName();

    private const long MinimumMemory = 1024 * 1024;

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvName();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    private static partial Regex NameShape();
}
