using System.Globalization;
using Nefele.Client;

namespace Nefele.Validation;

/// <summary>The rules of a supervisor spec and name, written once for the SDK, REST and the grain.</summary>
public static class SupervisorSpecs
{
    /// <summary>The most children a supervisor declares (a pool's size is bounded by <see cref="MaxPoolSize"/>).</summary>
    public const int MaxChildren = 256;

    /// <summary>The largest pool of a simple_one_for_one supervisor.</summary>
    public const int MaxPoolSize = 10_000;

    /// <summary>How deep supervisors nest (the top one is depth 1).</summary>
    public const int MaxDepth = 8;

    /// <summary>The longest intensity window: one day.</summary>
    public const int MaxPeriodSeconds = 86_400;

    /// <summary>The most restarts an intensity allows in its window.</summary>
    public const int MaxRestartsLimit = 100_000;

    /// <summary>Supervisor names: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (as process names).</summary>
    public static bool IsName(string? name) => Names.IsProcessName(name);

    /// <summary>Checks a supervisor name.</summary>
    public static void ValidateName(string? name)
    {
        if (!IsName(name))
        {
            throw NefeleException.Bad($"supervisor name '{Names.Shorten(name)}' is invalid: use {Names.ProcessNameRule}");
        }
    }

    /// <summary>The durable supervisor grain's key: "tenant/name".</summary>
    public static string Key(string tenant, string name)
    {
        Names.ValidateTenantName(tenant);
        ValidateName(name);
        return tenant + GrainKeys.Separator + name;
    }

    /// <summary>Checks a pool size.</summary>
    public static void ValidatePoolSize(int size)
    {
        if (size is < 0 or > MaxPoolSize)
        {
            throw NefeleException.Bad($"pool size {size} is out of range (0 to {MaxPoolSize})");
        }
    }

    /// <summary>Checks a whole tree; the error names the child that is wrong ("children[1].children[0]: …").</summary>
    public static void Validate(SupervisorSpec? spec) => Validate(spec, "", 1);

    private static void Validate(SupervisorSpec? spec, string where, int depth)
    {
        if (spec is null)
        {
            throw NefeleException.Bad($"{where}supervisor spec is missing");
        }

        if (depth > MaxDepth)
        {
            throw NefeleException.Bad($"{where}supervisors nest {depth} deep, at most {MaxDepth}");
        }

        if (!Enum.IsDefined(spec.Strategy))
        {
            throw NefeleException.Bad($"{where}strategy is not one of one_for_one, one_for_all, rest_for_one, simple_one_for_one");
        }

        if (spec.MaxRestarts is < 0 or > MaxRestartsLimit)
        {
            throw NefeleException.Bad($"{where}maxRestarts {spec.MaxRestarts} is out of range (0 to {MaxRestartsLimit})");
        }

        if (spec.PeriodSeconds is < 1 or > MaxPeriodSeconds)
        {
            throw NefeleException.Bad($"{where}periodSeconds {spec.PeriodSeconds} is out of range (1 to {MaxPeriodSeconds})");
        }

        var children = spec.Children ?? [];
        if (spec.Strategy == SupervisorStrategy.SimpleOneForOne)
        {
            if (children.Count != 1)
            {
                throw NefeleException.Bad($"{where}a simple_one_for_one supervisor has exactly one child, the template of its pool (it has {children.Count})");
            }

            ValidatePoolSize(spec.PoolSize);
        }
        else if (spec.PoolSize != 0)
        {
            throw NefeleException.Bad($"{where}poolSize applies to simple_one_for_one only");
        }

        if (children.Count > MaxChildren)
        {
            throw NefeleException.Bad($"{where}{children.Count} children, at most {MaxChildren}");
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < children.Count; i++)
        {
            var child = children[i];
            var at = string.Create(CultureInfo.InvariantCulture, $"{where}children[{i}]: ");
            if (child is null)
            {
                throw NefeleException.Bad($"{at}child is null");
            }

            if (!Names.IsProcessName(child.Id))
            {
                throw NefeleException.Bad($"{at}id '{Names.Shorten(child.Id)}' is invalid: use {Names.ProcessNameRule}");
            }

            if (!ids.Add(child.Id))
            {
                throw NefeleException.Bad($"{at}id '{child.Id}' is used by another child");
            }

            if (!Enum.IsDefined(child.Restart))
            {
                throw NefeleException.Bad($"{at}restart is not one of permanent, transient, temporary");
            }

            Supervision.Shutdown.Parse(child.Shutdown);
            switch (child.Process, child.Supervisor)
            {
                case (not null, null):
                    SpecValidator.Validate(child.Process, at);
                    break;
                case (null, not null):
                    Validate(child.Supervisor, at, depth + 1);
                    break;
                default:
                    throw NefeleException.Bad($"{at}give exactly one of process and supervisor");
            }
        }
    }

    /// <summary>The strategy's OTP name ("one_for_one").</summary>
    public static string Wire(this SupervisorStrategy strategy) => strategy switch
    {
        SupervisorStrategy.OneForOne => "one_for_one",
        SupervisorStrategy.OneForAll => "one_for_all",
        SupervisorStrategy.RestForOne => "rest_for_one",
        SupervisorStrategy.SimpleOneForOne => "simple_one_for_one",
        _ => strategy.ToString(),
    };
}
