using System.ComponentModel.DataAnnotations;
using Nefele.Client;

namespace Nefele.Tenants;

/// <summary>How tenants get their POSIX identities (section "Tenants").</summary>
public sealed class TenantOptions : IValidatableObject
{
    public const string Section = "Tenants";

    /// <summary>
    /// First uid (and gid) given to a tenant. Default 200000: above the ranges distributions give
    /// to users (1000-59999) and systemd's dynamic users (61184-65519). Every node must use the
    /// same range (hostd refuses a uid outside its own --tenant-uid-range).
    /// </summary>
    public uint UidRangeStart { get; set; } = 200000;

    /// <summary>How many uids the range holds, so how many tenants a cluster can ever create. Default 100000.</summary>
    public uint UidRangeSize { get; set; } = 100000;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (UidRangeStart < 1000)
        {
            yield return new ValidationResult($"Tenants:UidRangeStart {UidRangeStart} must be at least 1000 (system and login users live below)", [nameof(UidRangeStart)]);
        }

        if (UidRangeSize < 1 || (ulong)UidRangeStart + UidRangeSize > int.MaxValue)
        {
            yield return new ValidationResult($"Tenants:UidRangeSize {UidRangeSize} must be at least 1 and end below 2^31", [nameof(UidRangeSize)]);
        }
    }
}
