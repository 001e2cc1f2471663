using System.Collections.Concurrent;
using Nefele.Client;
using Nefele.HostAgent.Engines;
using Nefele.HostAgent.Interop;
using Nefele.Shared;

namespace Nefele.HostAgent.Shared;

/// <summary>
/// The tenants' directories on the shared directory (<see cref="SharedDirectory"/>): hostd makes
/// <c>tenants/&lt;tenant&gt;/</c> before a tenant's first launch on this node, owned by the tenant's uid
/// and gid with mode 0770 (setgid, so files made there keep the tenant's group), and hands its
/// path to the launch. <c>tenants/</c> itself is root's, 0711: a tenant reaches its own directory
/// and cannot list the others.
/// </summary>
public sealed class TenantDirectories(HostAgentOptions options)
{
    private const UnixFileMode TenantMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute | UnixFileMode.SetGroup;

    private readonly ConcurrentDictionary<string, (uint Uid, uint Gid)> _prepared = new(StringComparer.Ordinal);

    /// <summary>
    /// Makes the shared directory's top level at start-up: <c>tenants/</c> (root, 0711) and
    /// <c>images/</c> (owned by the silo's uid, which writes the image store; 0755, as hostd reads it as root).
    /// </summary>
    public void Prepare()
    {
        var root = options.SharedDirectory;
        Directory.CreateDirectory(root);
        var tenants = SharedDirectory.TenantsRoot(root);
        Directory.CreateDirectory(tenants);
        File.SetUnixFileMode(tenants, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        var images = SharedDirectory.ImagesRoot(root);
        Directory.CreateDirectory(images);
        Chown(images, options.SiloUid, options.SiloUid);
    }

    /// <summary>The tenant's directory, made (or its owner put right) when this node has not yet done so for that uid and gid.</summary>
    /// <exception cref="SpawnRejectedException">It cannot be made: the message names the directory and why.</exception>
    public string Ensure(string tenant, uint uid, uint gid)
    {
        var dir = SharedDirectory.Tenant(options.SharedDirectory, tenant);
        if (_prepared.TryGetValue(tenant, out var owner) && owner == (uid, gid))
        {
            return dir;
        }

        try
        {
            Directory.CreateDirectory(dir);
            Chown(dir, uid, gid);
            File.SetUnixFileMode(dir, TenantMode);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SpawnRejectedException($"spawn rejected: the tenant's shared directory {dir} cannot be made on this node: {e.Message}");
        }

        _prepared[tenant] = (uid, gid);
        return dir;
    }

    private static void Chown(string path, uint uid, uint gid)
    {
        if (LibC.chown(path, uid, gid) != 0)
        {
            throw new IOException($"chown {path} to {uid}:{gid}: {LibC.StrError(System.Runtime.InteropServices.Marshal.GetLastPInvokeError())}");
        }
    }
}
