using System.ComponentModel.DataAnnotations;

namespace Nefele.Nodes;

/// <summary>Settings of this node (section "Node").</summary>
public sealed class NodeOptions
{
    public const string Section = "Node";

    /// <summary>The node's name, also the Orleans silo name. Default: the machine's host name.</summary>
    [Required]
    [RegularExpression("^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$", ErrorMessage = "Node:Name must be 1-63 letters, digits, '.', '_' or '-'")]
    public string Name { get; set; } = Environment.MachineName;

    /// <summary>
    /// This admission point's NPID generator id, 0..1023; unique per node in a cluster so
    /// NPIDs never collide. Default 0 (one node).
    /// </summary>
    [Range(0, 1023)]
    public int GeneratorId { get; set; }

    /// <summary>CPU kept back for the system and Nefele itself, in millicores. Default 0.</summary>
    [Range(0, long.MaxValue)]
    public long ReservedCpuMillis { get; set; }

    /// <summary>Memory kept back for the system and Nefele itself. Default 512 MiB.</summary>
    [Range(0, long.MaxValue)]
    public long ReservedMemoryBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>hostd's control socket. Default /run/nefele/&lt;node&gt;/control.sock.</summary>
    public string? HostdControlSocket { get; set; }

    public string ControlSocketPath => HostdControlSocket ?? $"/run/nefele/{Name}/control.sock";
}
