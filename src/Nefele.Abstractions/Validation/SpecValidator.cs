using Nefele.Client;
using Nefele.Errors;
using Nefele.Placement;
using Nefele.Processes;

namespace Nefele.Validation;

/// <summary>
/// Checks a spawn request before anything is reserved, so bad input changes nothing and the
/// error names the field and what is allowed. The SDK (and so REST and the process socket)
/// runs it before calling the cluster, and the placement grain runs it again with its
/// configured task limit, so a client that calls grains directly meets the same rules.
/// </summary>
public static class SpecValidator
{
    /// <summary>Checks <paramref name="request"/> against <see cref="Limits"/> with the default task limit.</summary>
    public static void Validate(SpawnRequest request) => Validate(request, Limits.MaxTasksPerRequest);

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

        if (request.Parent is { } parent && !Names.IsNpid(parent))
        {
            throw NefeleException.Bad($"spawn rejected: parent '{Names.Shorten(parent)}' is not an NPID");
        }

        long bytes = 0;
        for (var i = 0; i < request.Tasks.Count; i++)
        {
            var where = request.Tasks.Count == 1 ? string.Empty : $"task {i}: ";
            bytes += Validate(request.Tasks[i], where);
            if (bytes > Limits.MaxSpawnRequestBytes)
            {
                throw NefeleException.Bad($"spawn rejected: the tasks' paths, args and env take more than {Limits.MaxSpawnRequestBytes} bytes (at most {Limits.MaxSpawnRequestBytes} per request; nspawn's copies of one task count once)");
            }
        }
    }

    /// <summary>Checks one task; returns the bytes its path, args and env take (as exec would pass them).</summary>
    public static long Validate(ProcessSpec spec, string where)
    {
        if (spec is null)
        {
            throw NefeleException.Bad($"spawn rejected: {where}task is null");
        }

        if (spec.Image is { } image && !Images.ImageReference.TryParse(image, out _))
        {
            throw NefeleException.Bad($"spawn rejected: {where}image '{Names.Shorten(image)}' is invalid: use {Images.ImageReference.Rule}");
        }

        // From an image, an empty path takes the image's command.
        if (spec.Path is null || (spec.Path.Length == 0 && spec.Image is null))
        {
            throw NefeleException.Bad($"spawn rejected: {where}path is empty");
        }

        if (spec.Path.Length > 0 && !spec.Path.StartsWith('/') && spec.Path.Contains('/', StringComparison.Ordinal))
        {
            throw NefeleException.Bad($"spawn rejected: {where}path {Names.Shorten(spec.Path)} is not absolute (give an absolute path, or a name without '/' to look up in PATH)");
        }

        if (spec.Path.Length > 0 && !spec.Path.StartsWith('/') && !Names.IsProgramName(spec.Path))
        {
            throw NefeleException.Bad($"spawn rejected: {where}program name {Names.Shorten(spec.Path)} is not a file name (at most {Limits.MaxFileNameBytes} bytes, not . or ..)");
        }

        if (spec.Args is null || spec.Path.Contains('\0', StringComparison.Ordinal) || spec.Args.Any(a => a is null || a.Contains('\0', StringComparison.Ordinal)))
        {
            throw NefeleException.Bad($"spawn rejected: {where}path and args must not contain NUL or null");
        }

        var pathBytes = Names.Utf8Bytes(spec.Path);
        if (pathBytes > Limits.MaxPathBytes)
        {
            throw NefeleException.Bad($"spawn rejected: {where}path is {pathBytes} bytes long (at most {Limits.MaxPathBytes})");
        }

        if (spec.Args.Count > Limits.MaxArgs)
        {
            throw NefeleException.Bad($"spawn rejected: {where}{spec.Args.Count} args given (at most {Limits.MaxArgs})");
        }

        long commandLine = pathBytes + 1;
        foreach (var a in spec.Args)
        {
            commandLine += Names.Utf8Bytes(a) + 1;
        }

        if (commandLine > Limits.MaxCommandLineBytes)
        {
            throw NefeleException.Bad($"spawn rejected: {where}path and args take {commandLine} bytes (at most {Limits.MaxCommandLineBytes})");
        }

        if (spec.CpuMillis < 0)
        {
            throw NefeleException.Bad($"spawn rejected: {where}cpu {spec.CpuMillis}m is negative (allowed: 0 for best effort, or millicores > 0)");
        }

        if (spec.MemoryBytes < 0)
        {
            throw NefeleException.Bad($"spawn rejected: {where}memory {spec.MemoryBytes} bytes is negative (allowed: 0 for no limit, or bytes > 0)");
        }

        if (spec.MemoryBytes is > 0 and < Limits.MinMemoryBytes)
        {
            throw NefeleException.Bad($"spawn rejected: {where}memory {spec.MemoryBytes} bytes is below the 1 MiB minimum");
        }

        if (spec.MailboxMessages is < 0 or > Limits.MaxMailboxMessages)
        {
            throw NefeleException.Bad($"spawn rejected: {where}mailbox of {spec.MailboxMessages} messages is out of range (allowed: 0 for the default {Limits.DefaultMailboxMessages}, or 1 to {Limits.MaxMailboxMessages})");
        }

        if (spec.MailboxBytes is < 0 or > Limits.MaxMailboxBytes)
        {
            throw NefeleException.Bad($"spawn rejected: {where}mailbox of {spec.MailboxBytes} bytes is out of range (allowed: 0 for the default {Limits.DefaultMailboxBytes}, or 1 to {Limits.MaxMailboxBytes})");
        }

        if (spec.Cwd is { Length: > 0 } cwd && !Names.IsAbsolutePath(cwd))
        {
            throw NefeleException.Bad(cwd.StartsWith('/')
                ? $"spawn rejected: {where}cwd must be at most {Limits.MaxPathBytes} bytes, without NUL"
                : $"spawn rejected: {where}cwd {Names.Shorten(cwd)} is not absolute");
        }

        var env = ValidateEnv(spec.Env, where);

        if (spec.Name is { } name && !Names.IsProcessName(name))
        {
            throw NefeleException.Bad($"spawn rejected: {where}name '{Names.Shorten(name)}' must be {Names.ProcessNameRule}");
        }

        ValidateDevices(spec.Devices, where);
        ValidateRlimits(spec.Rlimits, where);
        ValidateSelectors(spec, where);
        return commandLine + env + (spec.Cwd is null ? 0 : Names.Utf8Bytes(spec.Cwd));
    }

    private static long ValidateEnv(IReadOnlyDictionary<string, string> env, string where)
    {
        if (env is null)
        {
            throw NefeleException.Bad($"spawn rejected: {where}env is null");
        }

        if (env.Count > Limits.MaxEnvVars)
        {
            throw NefeleException.Bad($"spawn rejected: {where}{env.Count} env variables given (at most {Limits.MaxEnvVars})");
        }

        long bytes = 0;
        foreach (var (key, value) in env)
        {
            if (!Names.IsEnvName(key))
            {
                throw NefeleException.Bad($"spawn rejected: {where}env name '{Names.Shorten(key)}' is not a valid variable name (a letter or '_', then letters, digits or '_')");
            }

            if (Names.IsReservedEnvName(key))
            {
                throw NefeleException.Bad($"spawn rejected: {where}env {key} is reserved (NEFELE_* is set by the node)");
            }

            if (value is null || value.Contains('\0', StringComparison.Ordinal))
            {
                throw NefeleException.Bad($"spawn rejected: {where}env {key} has a NUL or no value");
            }

            bytes += Names.Utf8Bytes(key) + Names.Utf8Bytes(value) + 2;
        }

        if (bytes > Limits.MaxEnvBytes)
        {
            throw NefeleException.Bad($"spawn rejected: {where}env takes {bytes} bytes (at most {Limits.MaxEnvBytes})");
        }

        return bytes;
    }

    private static void ValidateDevices(IReadOnlyDictionary<string, long> devices, string where)
    {
        if (devices is null)
        {
            throw NefeleException.Bad($"spawn rejected: {where}devices is null");
        }

        foreach (var (device, count) in devices)
        {
            if (!Names.IsDeviceName(device))
            {
                throw NefeleException.Bad($"spawn rejected: {where}device '{Names.Shorten(device)}' must be 1-32 lowercase letters, digits, '.', '_' or '-'");
            }

            if (count is < 1 or > Limits.MaxDeviceCount)
            {
                throw NefeleException.Bad($"spawn rejected: {where}device {device} count {count} must be 1..{Limits.MaxDeviceCount}");
            }
        }
    }

    /// <summary>The resource limits a spec may set (<see cref="ProcessSpec.Rlimits"/>).</summary>
    public static IReadOnlyList<string> RlimitNames { get; } = ["core", "nofile", "nproc"];

    private static void ValidateRlimits(IReadOnlyDictionary<string, long> rlimits, string where)
    {
        if (rlimits is null)
        {
            throw NefeleException.Bad($"spawn rejected: {where}rlimits is null");
        }

        foreach (var (name, value) in rlimits)
        {
            if (!RlimitNames.Contains(name))
            {
                throw NefeleException.Bad($"spawn rejected: {where}rlimit '{Names.Shorten(name)}' is not one Nefele sets (known: {string.Join(", ", RlimitNames)})");
            }

            if (value < 0 || (value == 0 && name != "core"))
            {
                throw NefeleException.Bad($"spawn rejected: {where}rlimit {name} {value} must be {(name == "core" ? "0 or more" : "at least 1")}");
            }
        }
    }

    private static void ValidateSelectors(ProcessSpec spec, string where)
    {
        if (spec.Affinity is null || spec.AntiAffinity is null)
        {
            throw NefeleException.Bad($"spawn rejected: {where}affinity and antiAffinity must be lists, not null");
        }

        if (spec.Affinity.Count + spec.AntiAffinity.Count > Limits.MaxSelectors)
        {
            throw NefeleException.Bad($"spawn rejected: {where}{spec.Affinity.Count + spec.AntiAffinity.Count} affinity and anti-affinity selectors given, at most {Limits.MaxSelectors}");
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
}
