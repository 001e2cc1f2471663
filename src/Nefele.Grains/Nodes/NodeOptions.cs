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
    /// This admission point's NPID generator id, 0..1022; unique per node in a cluster so
    /// NPIDs never collide. Default 0 (one node). 1023 is kept for external mailbox addresses
    /// (<see cref="Messaging.MailboxAddress"/>).
    /// </summary>
    [Range(0, Messaging.MailboxAddress.GeneratorId - 1)]
    public int GeneratorId { get; set; }

    /// <summary>CPU kept back for the system and Nefele itself, in millicores. Default 0.</summary>
    [Range(0, long.MaxValue)]
    public long ReservedCpuMillis { get; set; }

    /// <summary>Memory kept back for the system and Nefele itself. Default 512 MiB.</summary>
    [Range(0, long.MaxValue)]
    public long ReservedMemoryBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// Labels placement constraints match (<c>label:key=value</c>); flag <c>--label key=value</c>,
    /// repeatable, or <c>Node:Labels:key=value</c>. Default none.
    /// </summary>
    public Dictionary<string, string> Labels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Devices this node offers, by name and count (flag <c>--device gpu=2</c>, repeatable).
    /// A declared count wins over what hostd detects for the same name. Default none.
    /// </summary>
    public Dictionary<string, long> Devices { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How often the node grain asks hostd for the measured load. Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan LoadRefreshInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>hostd's control socket. Default /run/nefele/&lt;node&gt;/control.sock.</summary>
    public string? HostdControlSocket { get; set; }

    public string ControlSocketPath => HostdControlSocket ?? $"/run/nefele/{Name}/control.sock";

    /// <summary>
    /// The node's control secret, presented to hostd when attaching (flag <c>--hostd-secret-file</c>;
    /// hostd's <c>--control-secret-file</c>). Default: <c>control.secret</c> beside the control socket,
    /// where hostd makes it by default.
    /// </summary>
    public string? HostdSecretFile { get; set; }

    public string SecretFilePath => HostdSecretFile ?? Path.Combine(Path.GetDirectoryName(ControlSocketPath) ?? "/", "control.secret");
}
