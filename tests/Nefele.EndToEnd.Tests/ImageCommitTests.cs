using System.Text;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>
/// nefele commit on a node in development mode: a container's changes (files written, deleted,
/// directories replaced) become a new image tag of several layers, through the SDK and nefele;
/// the source tag is unchanged; bad sources are refused and store nothing.
/// </summary>
public sealed class ImageCommitTests(DevelopmentImageNodeFixture fixture) : IClassFixture<DevelopmentImageNodeFixture>
{
    private const string Tenant = "commits";
    private const string Refusals = "commit-refusals";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly ImageConfig BusyboxConfig = new() { Cmd = ["/bin/echo", "default command"], Env = new Dictionary<string, string> { ["PATH"] = "/bin" } };

    private NodeUnderTest Node => fixture.Node;

    private static bool Contained => Environment.UserName == "root" && File.Exists("/usr/bin/systemd-nspawn");

    [Fact]
    public async Task A_containers_writes_and_deletes_become_a_new_tag_and_the_source_tag_is_unchanged()
    {
        if (!Contained)
        {
            return; // No containers here (root and systemd-nspawn), so no overlay: the refusal is the test below.
        }

        var tenant = await Node.SdkAsync(Tenant);
        var source = await PushBusyboxAsync("devbase:1");

        // Layer 2: a file written, one of the image deleted, a directory made.
        var writer = await RunAsync(tenant, "devbase:1",
            "echo committed > /work/added && /bin/busybox rm /work/image-file && /bin/busybox mkdir /work/data && echo a > /work/data/a && echo b > /work/data/b");
        var second = await tenant.Images.CommitAsync(writer, "devbase:2").WaitAsync(Bound);
        Assert.Equal(("devbase", "2"), (second.Name, second.Tag));
        Assert.Equal([source.Layer, second.Layer], second.Layers);
        Assert.Equal(BusyboxConfig.Cmd, second.Config.Cmd);

        var seen = await OutputAsync(tenant, await RunAsync(tenant, "devbase:2",
            "cat /work/added; test -e /work/image-file && echo image-file || echo no-image-file; ls /work/data"));
        Assert.Equal(["committed", "no-image-file", "a", "b"], seen);

        // The source tag is as it was.
        var unchanged = await tenant.Images.GetAsync("devbase:1");
        Assert.Equal((source.Digest, source.Layer), (unchanged.Digest, unchanged.Layer));
        Assert.Equal([source.Layer], unchanged.Layers);

        // Layer 3 over a two-layer image, through nefele: the directory replaced (opaque), so only
        // what the new one holds is seen.
        var replacer = await RunAsync(tenant, "devbase:2", "/bin/busybox rm -rf /work/data && /bin/busybox mkdir /work/data && echo c > /work/data/c");
        var commit = await NefeleAsync(Tenant, "commit", replacer, "devbase:3");
        Assert.True(commit.Code == 0, commit.Stderr);
        var third = await tenant.Images.GetAsync("devbase:3");
        Assert.Equal($"devbase:3 {third.Digest}", commit.Stdout.Trim());
        Assert.Equal([.. second.Layers, third.Layer], third.Layers);
        Assert.Equal(["committed", "no-image-file", "c"], await OutputAsync(tenant, await RunAsync(tenant, "devbase:3",
            "cat /work/added; test -e /work/image-file && echo image-file || echo no-image-file; ls /work/data")));

        // Deleting the tags leaves the blobs the others use, and the last takes the rest.
        await tenant.Images.DeleteAsync("devbase:2");
        await tenant.Images.DeleteAsync("devbase:1");
        Assert.Equal(["committed", "no-image-file", "c"], await OutputAsync(tenant, await RunAsync(tenant, "devbase:3",
            "cat /work/added; test -e /work/image-file && echo image-file || echo no-image-file; ls /work/data")));
        await tenant.Images.DeleteAsync("devbase:3");
        Assert.Empty(Directory.GetFiles(Path.Combine(fixture.SharedDir, "images", Tenant, "blobs", "sha256")));
    }

    [Fact]
    public async Task Unknown_sources_bad_tags_and_processes_without_an_image_are_refused_and_store_nothing()
    {
        var tenant = await Node.SdkAsync(Refusals);
        await PushBusyboxAsync("refused:1", Refusals);
        var before = (await tenant.Images.ListAsync()).Select(i => (i.Name, i.Tag, i.Digest)).ToArray();

        var unknown = await Assert.ThrowsAsync<NefeleException>(() => tenant.Images.CommitAsync("0000000000001", "refused:2"));
        Assert.Equal(ErrorCodes.NpidNotFound, unknown.Code);

        var notNpid = await Assert.ThrowsAsync<NefeleException>(() => tenant.Images.CommitAsync("not-an-npid", "refused:2"));
        Assert.Equal(ErrorCodes.BadRequest, notNpid.Code);

        var host = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/true" });
        await tenant.WaitAsync(host).WaitAsync(Bound);
        var noImage = await Assert.ThrowsAsync<NefeleException>(() => tenant.Images.CommitAsync(host, "refused:2"));
        Assert.Equal(ErrorCodes.BadRequest, noImage.Code);
        Assert.Contains("runs from no image", noImage.Message, StringComparison.Ordinal);

        var badTag = await Assert.ThrowsAsync<NefeleException>(() => tenant.Images.CommitAsync(host, "Refused:2"));
        Assert.Equal(ErrorCodes.BadRequest, badTag.Code);

        // nefele: an application that does not exist, a tag that is a digest.
        var noApp = await NefeleAsync(Refusals, "commit", "no-such-app", "refused:2");
        Assert.NotEqual(0, noApp.Code);
        Assert.Contains("neither an NPID nor an application", noApp.Stderr, StringComparison.Ordinal);
        var pinned = await NefeleAsync(Refusals, "commit", host, "refused:2@sha256:" + new string('0', 64));
        Assert.NotEqual(0, pinned.Code);
        Assert.Contains("not a digest", pinned.Stderr, StringComparison.Ordinal);

        if (!Contained)
        {
            // Chrooted on the host, an image's process has no overlay to commit.
            var chrooted = await RunAsync(tenant, "refused:1", "echo x > /tmp/x");
            var none = await Assert.ThrowsAsync<NefeleException>(() => tenant.Images.CommitAsync(chrooted, "refused:2"));
            Assert.Equal(ErrorCodes.OverlayNotFound, none.Code);
        }

        Assert.Equal(before, (await tenant.Images.ListAsync()).Select(i => (i.Name, i.Tag, i.Digest)).ToArray());
        Assert.Empty(Directory.GetFiles(Path.Combine(fixture.SharedDir, "images", Refusals, "uploads")));
    }

    private async Task<ImageInfo> PushBusyboxAsync(string image, string tenant = Tenant)
    {
        var images = (await Node.SdkAsync(tenant)).Images;
        await using var layer = File.OpenRead(fixture.Busybox);
        return await images.PushAsync(image, layer, BusyboxConfig).WaitAsync(Bound);
    }

    /// <summary>Runs <paramref name="script"/> in a process from <paramref name="image"/> to its end (exit 0); answers its NPID.</summary>
    private static async Task<string> RunAsync(NefeleTenant tenant, string image, string script)
    {
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", script], Image = image, NoHandshake = true });
        var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
        Assert.True(end.ExitCode == 0, $"{script}: exit {end.ExitCode}, signal {end.Signal}: {Encoding.UTF8.GetString((await tenant.ReadLogsAsync(npid)).Data)}");
        return npid;
    }

    private static async Task<string[]> OutputAsync(NefeleTenant tenant, string npid) =>
        Encoding.UTF8.GetString((await tenant.ReadLogsAsync(npid)).Data).TrimEnd().Split('\n');

    private Task<(int Code, string Stdout, string Stderr)> NefeleAsync(string tenant, params string[] args) =>
        NodeUnderTest.RunAsync(Path.Combine(RepoPaths.Root, "bin", "nefele"), ["--tenant", tenant, .. args], new Dictionary<string, string?>
        {
            ["NEFELE_API"] = Node.ApiUrl,
            ["NEFELE_TOKEN"] = Node.AdminKey,
            ["NEFELE_ADMIN_KEY_FILE"] = "/nonexistent",
            ["XDG_CONFIG_HOME"] = "/nonexistent",
        }, Bound);
}
