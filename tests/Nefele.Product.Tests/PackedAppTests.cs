using System.Text.Json;

namespace Nefele.Product.Tests;

/// <summary>
/// The SDK as a .NET developer gets it: scripts/pack into a local feed, a new console app
/// (dotnet new console), dotnet add package Nefele.Client from that feed, the README's quick start
/// as its Program.cs, built and run against a real node. Everything lives in a temporary directory
/// with its own NuGet.config and packages folder: nothing global changes, and no Nefele package
/// cached by an earlier run is ever used.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class PackedAppTests(NodeFixture fixture) : IDisposable
{
    private static readonly TimeSpan DotnetTimeout = TimeSpan.FromMinutes(5);
    private readonly string _dir = Directory.CreateTempSubdirectory("nefele-packed-app-").FullName;

    [Fact]
    public async Task Packed_sdk_installs_into_a_new_console_app_whose_quick_start_runs_and_ends_on_ctrl_c()
    {
        var feed = Path.Combine(_dir, "feed");
        var packages = Path.Combine(_dir, "packages");
        var app = Path.Combine(_dir, "app");

        // The Release build scripts/test made, packed as it is (building it again would only cost time).
        string[] noBuild = RepoPaths.Configuration == "Release" ? ["--no-build"] : [];
        await DotnetAsync(Path.Combine(RepoPaths.Root, "scripts", "pack"), ["--out", feed, .. noBuild]);
        Assert.NotEmpty(Directory.EnumerateFiles(feed, "Nefele.Client.*.nupkg"));

        var machinePackages = await MachinePackagesAsync();
        await File.WriteAllTextAsync(Path.Combine(_dir, "NuGet.config"), NuGetConfig(feed, packages, machinePackages));
        await DotnetAsync("dotnet", ["new", "console", "-o", app, "-n", "QuickStart", "--no-restore"]);
        await DotnetAsync("dotnet", ["add", app, "package", "Nefele.Client"]);
        await File.WriteAllTextAsync(Path.Combine(app, "Program.cs"), QuickStart.FromReadme());
        await DotnetAsync("dotnet", ["build", app, "-c", "Release", "-nologo", "-v", "q"]);

        // The app got Nefele.Client from this feed, into its own packages folder (not a copy an earlier
        // run left in the machine's packages folder, which the fallback would prefer).
        var client = Path.Combine(packages, "nefele.client");
        Assert.True(Directory.Exists(client), $"Nefele.Client was not restored from the feed: remove the Nefele packages from {machinePackages}");
        var restored = Directory.GetDirectories(client);
        Assert.Single(restored);
        using (var metadata = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(restored[0], ".nupkg.metadata"))))
        {
            Assert.Equal(Path.TrimEndingDirectorySeparator(feed), Path.TrimEndingDirectorySeparator(metadata.RootElement.GetProperty("source").GetString()!));
        }

        await QuickStart.RunAndInterruptAsync(fixture.Node, Path.Combine(app, "bin", "Release", "net10.0", "QuickStart.dll"));
    }

    /// <summary>
    /// Nefele packages come only from the feed (package source mapping) and are restored into the
    /// app's own packages folder; the packages they depend on are read where the machine's build
    /// restored them (a fallback folder: nothing is copied), or else from the machine's usual source.
    /// </summary>
    private static string NuGetConfig(string feed, string packages, string machinePackages) => $"""
        <?xml version="1.0" encoding="utf-8"?>
        <configuration>
          <packageSources>
            <clear />
            <add key="nefele" value="{feed}" />
            <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
          </packageSources>
          <packageSourceMapping>
            <packageSource key="nefele"><package pattern="Nefele.*" /></packageSource>
            <packageSource key="nuget.org"><package pattern="*" /></packageSource>
          </packageSourceMapping>
          <fallbackPackageFolders>
            <clear />
            <add key="machine" value="{machinePackages}" />
          </fallbackPackageFolders>
          <config><add key="globalPackagesFolder" value="{packages}" /></config>
        </configuration>
        """;

    private static async Task<string> MachinePackagesAsync()
    {
        var (_, output, _) = await NetnsNode.RunAsync("dotnet", ["nuget", "locals", "global-packages", "--list"], env: CleanEnvironment());
        return output.Trim()["global-packages: ".Length..];
    }

    private async Task DotnetAsync(string file, string[] args) =>
        await NetnsNode.RunAsync(file, args, timeout: DotnetTimeout, cwd: _dir, env: CleanEnvironment());

    /// <summary>
    /// Without the test host's MSBuild variables (they would point a child dotnet at this test run's
    /// build), and with no build server or reused MSBuild node outliving the command.
    /// </summary>
    private static Dictionary<string, string?> CleanEnvironment()
    {
        var env = new Dictionary<string, string?>();
        foreach (var key in Environment.GetEnvironmentVariables().Keys.Cast<string>())
        {
            if (key.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase) || key.StartsWith("VSTEST", StringComparison.OrdinalIgnoreCase))
            {
                env[key] = null;
            }
        }

        env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        env["DOTNET_NOLOGO"] = "1";
        env["MSBUILDDISABLENODEREUSE"] = "1";
        env["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        env["UseSharedCompilation"] = "false";
        return env;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // A build server may still hold a file; the directory is under the temp folder.
        }
    }
}
