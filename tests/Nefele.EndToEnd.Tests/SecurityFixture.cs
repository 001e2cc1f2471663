using Nefele.Auth;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// One node with two tenants: "victim" runs a sleeping process, "attacker" holds keys of every
/// role. The attacks in <see cref="SecurityTests"/> must leave the victim's process running and
/// its ps -a unchanged, and the node serving.
/// </summary>
public sealed class SecurityFixture : IAsyncLifetime
{
    public const string Victim = "victim";
    public const string Attacker = "attacker";

    public NodeUnderTest Node { get; private set; } = null!;

    public NefeleTenant VictimAdmin { get; private set; } = null!;

    /// <summary>The victim's long-running process.</summary>
    public string VictimNpid { get; private set; } = null!;

    public string VictimKey { get; private set; } = null!;

    public string AttackerOwner { get; private set; } = null!;

    public string AttackerMember { get; private set; } = null!;

    public string AttackerViewer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Node = await NodeUnderTest.StartAsync();
        VictimAdmin = await Node.SdkAsync(Victim);
        VictimKey = await Node.CreateKeyAsync(Victim, "victim-owner", Role.Owner);
        AttackerOwner = await Node.CreateKeyAsync(Attacker, "owner", Role.Owner);
        AttackerMember = await Node.CreateKeyAsync(Attacker, "member", Role.Member);
        AttackerViewer = await Node.CreateKeyAsync(Attacker, "viewer", Role.Viewer);
        VictimNpid = await VictimAdmin.SpawnAsync(new ProcessSpec { Path = "/bin/sleep", Args = ["600"], Name = "victim-sleeper" });
    }

    public async Task DisposeAsync()
    {
        await Cleanup.KillAsync(VictimAdmin, VictimNpid);
        await Node.DisposeAsync();
    }
}
