using System.Security.Cryptography;
using System.Text;
using Nefele.Processes;

namespace Nefele.Messaging;

/// <summary>
/// Addresses of external mailboxes: NPID-shaped, with the generator id no node uses
/// (<see cref="GeneratorId"/>), so a router tells them from processes without a lookup.
/// Their other 54 bits are random (a mailbox an SDK program opens) or a hash of the tenant and
/// the API key's name (the mailbox REST gives each key, the same across calls and nodes).
/// </summary>
public static class MailboxAddress
{
    /// <summary>The NPID generator id reserved for mailbox addresses; nodes use 0..1022.</summary>
    public const int GeneratorId = 1023;

    /// <summary>True when <paramref name="address"/> is NPID-shaped with <see cref="GeneratorId"/>.</summary>
    public static bool IsExternal(string? address) =>
        Npid.TryDecode(address, out var value) && Npid.GeneratorOf(value) == GeneratorId;

    /// <summary>A new random address.</summary>
    public static string NewRandom() => Make(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));

    /// <summary>The stable address of the mailbox of API key <paramref name="keyName"/> in <paramref name="tenant"/>.</summary>
    public static string ForKey(string tenant, string keyName) =>
        Make(BitConverter.ToUInt64(SHA256.HashData(Encoding.UTF8.GetBytes($"nefele-mailbox\n{tenant}\n{keyName}")), 0));

    private static string Make(ulong bits) =>
        Npid.Encode((bits & ~(0x3ffUL << 12)) | ((ulong)GeneratorId << 12));
}
