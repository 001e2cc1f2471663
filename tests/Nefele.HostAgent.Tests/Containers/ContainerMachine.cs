namespace Nefele.HostAgent.Tests.Containers;

/// <summary>What tenant containers need from the machine: root and systemd-nspawn (package systemd-container).</summary>
internal static class ContainerMachine
{
    private static readonly string[] NspawnPaths = ["/usr/bin/systemd-nspawn", "/bin/systemd-nspawn"];

    public static string? Nspawn { get; } = NspawnPaths.FirstOrDefault(File.Exists);

    public static bool Root { get; } = Environment.UserName == "root";

    /// <summary>Why containers cannot run here, or null when they can.</summary>
    public static string? Missing =>
        !Root ? "tenant containers need root" : Nspawn is null ? "systemd-nspawn is not installed (apt-get install systemd-container)" : null;

    /// <summary>The inode a namespace link names ("net:[4026531840]"), to compare two processes' namespaces.</summary>
    public static string Namespace(int pid, string kind) => new FileInfo($"/proc/{pid}/ns/{kind}").LinkTarget ?? "";
}
