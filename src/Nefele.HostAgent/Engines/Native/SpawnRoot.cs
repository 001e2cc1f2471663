namespace Nefele.HostAgent.Engines.Native;

/// <summary>
/// A root filesystem a child runs in (struct nefele_spawn_root): <see cref="Path"/> read-only in a
/// mount namespace of the child's own, <see cref="Binds"/> bound into it read-write (targets are
/// host paths under <see cref="Path"/> that exist), a private tmpfs on <see cref="Tmpfs"/>, then chroot.
/// </summary>
public sealed record SpawnRoot(string Path, IReadOnlyList<(string Source, string Target)> Binds, string? Tmpfs);
