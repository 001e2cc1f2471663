namespace Nefele.EndToEnd.Tests;

/// <summary>
/// Temporary directories the test's processes use: they run as their tenant's unprivileged
/// uid, so the directory must be open to them (CreateTempSubdirectory makes it 0700).
/// </summary>
internal static class TestDirectory
{
    public const UnixFileMode OpenToAll = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    public static string Create(string prefix)
    {
        var dir = Directory.CreateTempSubdirectory(prefix).FullName;
        File.SetUnixFileMode(dir, OpenToAll);
        return dir;
    }
}
