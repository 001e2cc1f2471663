using System.Text.RegularExpressions;
using Nefele.Protocol.V1;
using Nefele.Validation;

namespace Nefele.HostAgent.Processes;

/// <summary>
/// What hostd checks of a launch before anything runs. The silo checked the spec at admission
/// (Nefele.Validation); hostd checks again what it relies on, with the same rules, so a launch
/// that bypassed admission changes nothing.
/// </summary>
internal static partial class LaunchValidation
{
    /// <summary>Null when the launch may go on, else the rejection's message.</summary>
    public static string? Validate(LaunchRequest request)
    {
        // Any id that is safe as a file and cgroup name is launched (the silo sends NPIDs).
        if (!LocalId().IsMatch(request.Npid))
        {
            return $"spawn rejected: npid '{Names.Shorten(request.Npid)}' must be 1-128 characters of [A-Za-z0-9._:@-] and not start with '.'";
        }

        if (!Names.IsTenantName(request.Tenant))
        {
            return $"spawn rejected: tenant '{Names.Shorten(request.Tenant)}' is not a tenant name";
        }

        if ((request.Uid == 0 || request.Gid == 0) && !request.Privileged)
        {
            return $"spawn rejected: uid {request.Uid} gid {request.Gid}: root (0) is only for a privileged tenant, and tenant {request.Tenant} is not one";
        }

        var spec = request.Spec;
        if (spec is null || !Names.IsProgram(spec.Path))
        {
            return $"spawn rejected: the path must be absolute (at most {Limits.MaxPathBytes} bytes) or a program name without '/' (at most {Limits.MaxFileNameBytes} bytes), without NUL";
        }

        if (spec.Args.Count > Limits.MaxArgs)
        {
            return $"spawn rejected: {spec.Args.Count} args given (at most {Limits.MaxArgs})";
        }

        if (spec.Args.Any(a => a.Contains('\0', StringComparison.Ordinal)) || spec.Env.Values.Any(v => v.Contains('\0', StringComparison.Ordinal)))
        {
            return "spawn rejected: arguments and environment values must not contain NUL";
        }

        var commandLine = Names.Utf8Bytes(spec.Path) + 1 + spec.Args.Sum(a => (long)Names.Utf8Bytes(a) + 1);
        if (commandLine > Limits.MaxCommandLineBytes)
        {
            return $"spawn rejected: path and args take {commandLine} bytes (at most {Limits.MaxCommandLineBytes})";
        }

        if (spec.Env.Count > Limits.MaxEnvVars)
        {
            return $"spawn rejected: {spec.Env.Count} env variables given (at most {Limits.MaxEnvVars})";
        }

        foreach (var name in spec.Env.Keys)
        {
            if (!Names.IsEnvName(name))
            {
                return $"spawn rejected: env name '{Names.Shorten(name)}' is not a valid variable name (a letter or '_', then letters, digits or '_')";
            }

            if (Names.IsReservedEnvName(name))
            {
                return $"spawn rejected: env {name} is reserved (NEFELE_* is set by hostd)";
            }
        }

        var env = spec.Env.Sum(e => (long)Names.Utf8Bytes(e.Key) + Names.Utf8Bytes(e.Value) + 2);
        if (env > Limits.MaxEnvBytes)
        {
            return $"spawn rejected: env takes {env} bytes (at most {Limits.MaxEnvBytes})";
        }

        if (spec.CpuMillis < 0 || spec.MemoryBytes < 0)
        {
            return "spawn rejected: cpu_millis and memory_bytes must not be negative";
        }

        return null;
    }

    [GeneratedRegex("^[A-Za-z0-9_:@-][A-Za-z0-9._:@-]{0,127}$")]
    private static partial Regex LocalId();
}
