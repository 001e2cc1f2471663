using System.Security.Cryptography;
using System.Text;

namespace Nefele.HostAgent.Control;

/// <summary>
/// The node's control secret: the silo presents it in its first request on the control socket.
/// Stored in a file only the silo's uid (and root) can read; made on first start as k3s makes
/// its node token.
/// </summary>
internal static class ControlSecret
{
    private const int RandomBytes = 32;
    private const int MinimumLength = 32;
    private const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// The secret in <paramref name="path"/> (its text without surrounding white space), made
    /// first when the file does not exist: 32 random bytes, hex, mode 0600, owned by <paramref name="siloUid"/>.
    /// </summary>
    /// <exception cref="HostAgentStartupException">The file is open to group or others, or too short to be a secret.</exception>
    public static byte[] LoadOrCreate(string path, uint siloUid)
    {
        if (!File.Exists(path))
        {
            Create(path, siloUid);
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & ~(OwnerOnly | UnixFileMode.UserExecute)) != 0)
        {
            throw new HostAgentStartupException(
                $"HostAgent:ControlSecretFile (--control-secret-file) {path} has mode {Convert.ToString((int)mode, 8)}: a secret must be readable by its owner only; chmod 0600 it");
        }

        var secret = Encoding.UTF8.GetBytes(File.ReadAllText(path).Trim());
        if (secret.Length < MinimumLength)
        {
            throw new HostAgentStartupException(
                $"HostAgent:ControlSecretFile (--control-secret-file) {path} holds {secret.Length} characters; a control secret has at least {MinimumLength} (delete the file and hostd makes one)");
        }

        return secret;
    }

    /// <summary>Constant-time comparison, so the time of a refusal says nothing about the secret.</summary>
    public static bool Matches(byte[] secret, ReadOnlySpan<byte> presented) =>
        CryptographicOperations.FixedTimeEquals(secret, presented.Trim("\t\n\r "u8));

    private static void Create(string path, uint siloUid)
    {
        if (Path.GetDirectoryName(path) is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
        }

        var text = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(RandomBytes)) + "\n";
        var temp = path + ".new";
        File.Delete(temp);
        using (var stream = new FileStream(temp, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = OwnerOnly }))
        {
            stream.Write(Encoding.ASCII.GetBytes(text));
        }

        Interop.LibC.ChownOrThrow(temp, siloUid);

        // The rename makes it appear whole: a silo never reads half a secret.
        File.Move(temp, path, overwrite: false);
    }
}
