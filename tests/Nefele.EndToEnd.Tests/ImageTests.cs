using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Nefele.Client;
using Nefele.Processes;
using Xunit;

namespace Nefele.EndToEnd.Tests;

/// <summary>Images: upload, list, inspect, delete, spawn from one (in the tenant's container, or chrooted on the node), and bad input, through REST, the SDK, nef and nefele.</summary>
public sealed class ImageTests(ImageNodeFixture fixture) : IClassFixture<ImageNodeFixture>
{
    private const string Tenant = "images";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly ImageConfig BusyboxConfig = new() { Cmd = ["/bin/echo", "default command"], Env = new Dictionary<string, string> { ["PATH"] = "/bin", ["FROM_IMAGE"] = "yes" } };

    private NodeUnderTest Node => fixture.Node;

    private string Blobs => Path.Combine(fixture.SharedDir, "images", Tenant, "blobs", "sha256");

    [Fact]
    public async Task A_pushed_image_is_listed_inspected_and_deleted_with_its_blobs()
    {
        // A tenant of its own: the other tests' images share the busybox layer, which a deleted tag
        // rightly leaves while another tag uses it.
        const string tenant = "listing";
        var blobs = Path.Combine(fixture.SharedDir, "images", tenant, "blobs", "sha256");
        var images = (await Node.SdkAsync(tenant)).Images;
        var layerDigest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(fixture.Busybox)));
        await using (var layer = File.OpenRead(fixture.Busybox))
        {
            var pushed = await images.PushAsync("listed:v1", layer, BusyboxConfig, layerDigest).WaitAsync(Bound);
            Assert.Equal(("listed", "v1", layerDigest), (pushed.Name, pushed.Tag, pushed.Layer));
            Assert.Equal(new FileInfo(fixture.Busybox).Length, pushed.Size);
        }

        var listed = Assert.Single(await images.ListAsync(), i => i.Name == "listed");
        Assert.Equal(BusyboxConfig.Cmd, listed.Config.Cmd);
        Assert.True(File.Exists(Path.Combine(blobs, layerDigest["sha256:".Length..])));

        // The same layer under a second tag: deleting the first keeps the blobs the second uses.
        await using (var again = File.OpenRead(fixture.Busybox))
        {
            await images.PushAsync("listed:v2", again, BusyboxConfig).WaitAsync(Bound);
        }

        await images.DeleteAsync("listed:v1");
        var missing = await Assert.ThrowsAsync<NefeleException>(() => images.GetAsync("listed:v1"));
        Assert.Equal(ErrorCodes.ImageNotFound, missing.Code);
        Assert.Equal("v2", (await images.GetAsync("listed:v2")).Tag);
        Assert.True(File.Exists(Path.Combine(blobs, layerDigest["sha256:".Length..])));

        await images.DeleteAsync("listed:v2");
        Assert.DoesNotContain(await images.ListAsync(), i => i.Name == "listed");
        Assert.False(File.Exists(Path.Combine(blobs, layerDigest["sha256:".Length..])), "the layer no tag uses is gone");
    }

    [Fact]
    public async Task A_process_from_an_image_runs_in_its_root_read_only_as_the_tenant_with_its_shared_directory()
    {
        var tenant = await Node.SdkAsync(Tenant);
        var info = await NodeUnderTest.EnsureTenantAsync(await Node.AdminAsync(), Tenant);
        await PushBusyboxAsync("rooted:1");
        var npid = await tenant.SpawnAsync(new ProcessSpec
        {
            Path = "/bin/sh",
            Args = ["-c", "cat /etc/image-marker; id -u; echo \"shared=$NEFELE_SHARED\"; echo x > /shared/from-image; touch /etc/nope 2>/dev/null || echo read-only; echo \"env=$FROM_IMAGE\""],
            Image = "rooted:1",
            NoHandshake = true,
        });
        var end = await tenant.WaitAsync(npid).WaitAsync(Bound);
        var output = Encoding.UTF8.GetString((await tenant.ReadLogsAsync(npid)).Data);

        Assert.True(end.ExitCode == 0, output);
        Assert.Equal([TestImage.Marker, info.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture), "shared=/shared", "read-only", "env=yes"], output.TrimEnd().Split('\n'));
        var file = Path.Combine(fixture.SharedDir, "tenants", Tenant, "from-image");
        Assert.Equal("x\n", await File.ReadAllTextAsync(file));
        Assert.Equal(info.Uid, (await OwnerAsync(file)).Uid);

        // ps shows the pinned image's command; the image's layer was unpacked once on this node.
        Assert.Equal("/bin/sh", (await tenant.GetAsync(npid)).Command.Split(' ')[0]);
        Assert.Empty(Directory.GetDirectories(fixture.ImageCache, ".unpack-*"));
    }

    [Fact]
    public async Task A_process_from_an_image_runs_in_its_tenants_container_which_ps_shows_and_kill_and_logs_reach()
    {
        var tenant = await Node.SdkAsync(Tenant);
        await PushBusyboxAsync("contained:1");
        var sleeper = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "echo up; exec sleep 300"], Image = "contained:1", NoHandshake = true });
        var info = await tenant.GetAsync(sleeper);

        // hostd runs a process from an image in the tenant's container where this machine has
        // them (root and systemd-nspawn), else chrooted in the image on the host.
        var contained = Environment.UserName == "root" && File.Exists("/usr/bin/systemd-nspawn");
        if (!contained)
        {
            Assert.Null(info.Container);
            await tenant.KillAsync(sleeper);
            return;
        }

        Assert.StartsWith("nf-" + Tenant + "-", info.Container, StringComparison.Ordinal);
        var peek = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "cat /proc/sys/kernel/hostname /proc/[0-9]*/comm"], Image = "contained:1", NoHandshake = true });
        Assert.Equal(0, (await tenant.WaitAsync(peek).WaitAsync(Bound)).ExitCode);
        var seen = Encoding.UTF8.GetString((await tenant.ReadLogsAsync(peek)).Data).TrimEnd().Split('\n');
        Assert.Equal(info.Container, seen[0]);

        // The container's pid 1, the sleeper, the peek itself (its shell and cat): nothing of the node's.
        Assert.Contains("nefele-pause", seen[1..]);
        Assert.Contains("sleep", seen[1..]);
        Assert.All(seen[1..], comm => Assert.Contains(comm, (string[])["nefele-pause", "sleep", "sh", "cat"]));
        Assert.Equal(info.Container, (await tenant.GetAsync(peek)).Container);

        await tenant.KillAsync(sleeper);
        var end = await tenant.WaitAsync(sleeper).WaitAsync(Bound);
        Assert.Equal(Signals.SigTerm, end.Signal);
        Assert.Equal("up\n", Encoding.UTF8.GetString((await tenant.ReadLogsAsync(sleeper)).Data));
    }

    [Fact]
    public async Task An_empty_path_runs_the_images_command_and_many_launches_share_one_unpack()
    {
        var tenant = await Node.SdkAsync(Tenant);
        var pushed = await PushBusyboxAsync("defaults:1");
        var npids = await tenant.NSpawnAsync(4, new ProcessSpec { Path = "", Image = "defaults:1", NoHandshake = true }).WaitAsync(Bound);
        foreach (var npid in npids)
        {
            Assert.Equal(0, (await tenant.WaitAsync(npid).WaitAsync(Bound)).ExitCode);
            Assert.Equal("default command\n", Encoding.UTF8.GetString((await tenant.ReadLogsAsync(npid)).Data));
        }

        Assert.True(Directory.Exists(Path.Combine(fixture.ImageCache, pushed.Layer["sha256:".Length..], "rootfs")));
        Assert.Empty(Directory.GetDirectories(fixture.ImageCache, ".unpack-*"));
    }

    [Fact]
    public async Task A_tenants_default_image_runs_the_spawns_that_name_none_until_it_is_cleared()
    {
        const string other = "images-default";
        var tenant = await Node.SdkAsync(other);
        var unknown = await Assert.ThrowsAsync<NefeleException>(() => tenant.Images.SetDefaultAsync("missing:1"));
        Assert.Equal(ErrorCodes.ImageNotFound, unknown.Code);

        await using (var layer = File.OpenRead(fixture.Busybox))
        {
            await tenant.Images.PushAsync("base:1", layer, BusyboxConfig).WaitAsync(Bound);
        }

        Assert.Equal("base:1", (await tenant.Images.SetDefaultAsync("base:1")).DefaultImage);
        try
        {
            var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/cat", Args = ["/etc/image-marker"], NoHandshake = true });
            Assert.Equal(0, (await tenant.WaitAsync(npid).WaitAsync(Bound)).ExitCode);
            Assert.Equal(TestImage.Marker + "\n", Encoding.UTF8.GetString((await tenant.ReadLogsAsync(npid)).Data));
        }
        finally
        {
            Assert.Null((await tenant.Images.SetDefaultAsync(null)).DefaultImage);
        }

        // Cleared: the node's own filesystem again, which has no marker.
        var host = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "test -e /etc/image-marker && echo image || echo host"] });
        await tenant.WaitAsync(host).WaitAsync(Bound);
        Assert.Equal("host\n", Encoding.UTF8.GetString((await tenant.ReadLogsAsync(host)).Data));
    }

    [Fact]
    public async Task A_host_process_gets_its_tenants_shared_directory_owned_by_the_tenant()
    {
        var tenant = await Node.SdkAsync(Tenant);
        var info = await NodeUnderTest.EnsureTenantAsync(await Node.AdminAsync(), Tenant);
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "echo \"$NEFELE_SHARED\"; echo y > \"$NEFELE_SHARED/from-host\""] });
        Assert.Equal(0, (await tenant.WaitAsync(npid).WaitAsync(Bound)).ExitCode);

        var dir = Path.Combine(fixture.SharedDir, "tenants", Tenant);
        Assert.Equal(dir + "\n", Encoding.UTF8.GetString((await tenant.ReadLogsAsync(npid)).Data));
        var (uid, gid, mode) = await OwnerAsync(dir);
        Assert.Equal((info.Uid, info.Gid), (uid, gid));
        Assert.Equal(Convert.ToInt32("2770", 8), mode & Convert.ToInt32("7777", 8));
        Assert.Equal(info.Uid, (await OwnerAsync(Path.Combine(dir, "from-host"))).Uid);
    }

    [Fact]
    public async Task Bad_names_digest_mismatches_unknown_images_and_oversized_layers_are_refused_and_change_nothing()
    {
        var tenant = await Node.SdkAsync(Tenant);
        var psBefore = (await tenant.PsAsync(all: true)).Count;
        var blobsBefore = Directory.Exists(Blobs) ? Directory.GetFiles(Blobs).Length : 0;
        var layers = $"/v1/tenants/{Tenant}/images/layers";

        // A digest that is not the bytes': refused, nothing stored.
        using (var body = new ByteArrayContent(await File.ReadAllBytesAsync(fixture.Busybox)))
        {
            body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            var mismatch = await Node.Http.PostAsync(layers + "?digest=sha256:" + new string('0', 64), body).WaitAsync(Bound);
            var detail = await Problem(mismatch, HttpStatusCode.BadRequest, ErrorCodes.DigestMismatch);
            Assert.Contains("nothing was stored", detail, StringComparison.Ordinal);
        }

        // A bad name, through REST and the SDK (before anything is sent).
        await Problem(await Node.Http.PutAsync($"/v1/tenants/{Tenant}/images/Bad%20Name/1", Json("""{"layer":"sha256:""" + new string('1', 64) + "\"}")).WaitAsync(Bound), HttpStatusCode.BadRequest, ErrorCodes.BadRequest);
        var badName = await Assert.ThrowsAsync<NefeleException>(() => tenant.Images.PushAsync("UPPER:1", Stream.Null));
        Assert.Equal(ErrorCodes.BadRequest, badName.Code);
        Assert.Contains("lowercase", badName.Message, StringComparison.Ordinal);

        // A spawn from an image the tenant does not have: refused at admission, nothing runs.
        var unknown = await Node.Http.PostAsync($"/v1/tenants/{Tenant}/spawn", Json("""{"tasks":[{"path":"/bin/true","image":"no-such-image:1","noHandshake":true}]}""")).WaitAsync(Bound);
        Assert.Contains("no-such-image:1", await Problem(unknown, HttpStatusCode.NotFound, ErrorCodes.ImageNotFound), StringComparison.Ordinal);
        var invalid = await Assert.ThrowsAsync<NefeleException>(() => tenant.SpawnAsync(new ProcessSpec { Path = "/bin/true", Image = "bad/image" }));
        Assert.Equal(ErrorCodes.BadRequest, invalid.Code);

        // A layer over the limit is refused from its Content-Length, before any byte is sent.
        using var http = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(60) }) { BaseAddress = new Uri(Node.ApiUrl), Timeout = Bound };
        var huge = new NeverSentBody(Validation.Limits.MaxImageLayerBytes + 1);
        using var request = new HttpRequestMessage(HttpMethod.Post, layers) { Content = huge };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Node.AdminKey);
        request.Headers.ExpectContinue = true;
        await Problem(await http.SendAsync(request).WaitAsync(Bound), HttpStatusCode.RequestEntityTooLarge, ErrorCodes.PayloadTooLarge);
        Assert.Equal(0, huge.Sent);

        Assert.Equal(psBefore, (await tenant.PsAsync(all: true)).Count);
        Assert.Equal(blobsBefore, Directory.Exists(Blobs) ? Directory.GetFiles(Blobs).Length : 0);
        Assert.Empty(Directory.Exists(Path.Combine(fixture.SharedDir, "images", Tenant, "uploads")) ? Directory.GetFiles(Path.Combine(fixture.SharedDir, "images", Tenant, "uploads")) : []);
    }

    [Fact]
    public async Task A_commit_on_a_production_node_is_refused_and_stores_nothing()
    {
        var tenant = await Node.SdkAsync(Tenant);
        var source = await PushBusyboxAsync("prodsource:1");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/sh", Args = ["-c", "echo x > /tmp/x"], Image = "prodsource:1", NoHandshake = true });
        await tenant.WaitAsync(npid).WaitAsync(Bound);
        var blobsBefore = Directory.GetFiles(Blobs).Length;

        var refused = await Node.Http.PostAsync($"/v1/tenants/{Tenant}/images/prodcommit/1/commit", Json($$"""{"npid":"{{npid}}"}""")).WaitAsync(Bound);
        var detail = await Problem(refused, HttpStatusCode.Conflict, ErrorCodes.NotDevelopmentMode);
        Assert.Contains("--container-mode development", detail, StringComparison.Ordinal);
        var sdk = await Assert.ThrowsAsync<NefeleException>(() => tenant.Images.CommitAsync(npid, "prodcommit:1"));
        Assert.Equal(ErrorCodes.NotDevelopmentMode, sdk.Code);

        var missing = await Assert.ThrowsAsync<NefeleException>(() => tenant.Images.GetAsync("prodcommit:1"));
        Assert.Equal(ErrorCodes.ImageNotFound, missing.Code);
        Assert.Equal(source.Digest, (await tenant.Images.GetAsync("prodsource:1")).Digest);
        Assert.Equal(blobsBefore, Directory.GetFiles(Blobs).Length);
        Assert.Empty(Directory.GetFiles(Path.Combine(fixture.SharedDir, "images", Tenant, "uploads")));
    }

    [Fact]
    public async Task Nef_pushes_lists_spawns_from_and_removes_an_image()
    {
        await Node.SdkAsync(Tenant);
        var config = Path.ChangeExtension(fixture.Busybox, ".json");
        await File.WriteAllTextAsync(config, """{"cmd":["/bin/echo","from nef"],"env":{"PATH":"/bin"}}""");
        var push = await Node.NefAsync("--tenant", Tenant, "image", "push", fixture.Busybox, "nefimg:2");
        Assert.True(push.Code == 0, push.Stderr);
        Assert.StartsWith("nefimg:2 sha256:", push.Stdout, StringComparison.Ordinal);

        var list = await Node.NefAsync("--tenant", Tenant, "images");
        Assert.True(list.Code == 0, list.Stderr);
        Assert.Contains(list.Stdout.Split('\n'), l => l.StartsWith("nefimg", StringComparison.Ordinal) && l.Contains(" 2 ", StringComparison.Ordinal));

        var run = await Node.NefAsync("--tenant", Tenant, "spawn", "--wait", "--image", "nefimg:2", "--no-handshake");
        Assert.True(run.Code == 0, run.Stderr);
        Assert.Equal("from nef\n", run.Stdout);

        var rm = await Node.NefAsync("--tenant", Tenant, "image", "rm", "nefimg:2");
        Assert.True(rm.Code == 0, rm.Stderr);
        var gone = await Node.NefAsync("--tenant", Tenant, "spawn", "--image", "nefimg:2", "--", "/bin/true");
        Assert.Equal(1, gone.Code);
        Assert.Contains("no image nefimg:2", gone.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nefele_pushes_a_directory_and_starts_status_and_stops_an_application()
    {
        var tenant = await Node.SdkAsync(Tenant);
        var root = Path.Combine(Path.GetDirectoryName(fixture.Busybox)!, "busybox-root");
        var env = new Dictionary<string, string?>
        {
            ["NEFELE_API"] = Node.ApiUrl,
            ["NEFELE_TOKEN"] = Node.AdminKey,
            ["NEFELE_ADMIN_KEY_FILE"] = "/nonexistent",
            ["XDG_CONFIG_HOME"] = "/nonexistent",
        };
        var nefele = Path.Combine(RepoPaths.Root, "bin", "nefele");

        var push = await NodeUnderTest.RunAsync(nefele, ["--tenant", Tenant, "push", root, "app-image:1"], env, Bound);
        Assert.True(push.Code == 0, push.Stderr);
        var start = await NodeUnderTest.RunAsync(nefele, ["--tenant", Tenant, "start", "app-image:1", "--name", "web", "--no-handshake", "--", "/bin/sleep", "300"], env, Bound);
        Assert.True(start.Code == 0, start.Stderr);
        var npid = start.Stdout.Trim();
        Assert.True(Npid.IsWellFormed(npid), start.Stdout);
        try
        {
            Assert.Equal(ProcessState.Running, (await tenant.GetAsync(npid)).State);
            var status = await NodeUnderTest.RunAsync(nefele, ["--tenant", Tenant, "status"], env, Bound);
            Assert.True(status.Code == 0, status.Stderr);
            var row = Assert.Single(status.Stdout.Split('\n'), l => l.StartsWith("web ", StringComparison.Ordinal));
            Assert.Contains(npid, row, StringComparison.Ordinal);
            Assert.Contains("app-image:1", row, StringComparison.Ordinal);

            var stop = await NodeUnderTest.RunAsync(nefele, ["--tenant", Tenant, "stop", "web"], env, Bound);
            Assert.True(stop.Code == 0, stop.Stderr);
            Assert.NotEqual(ProcessState.Running, (await tenant.WaitAsync(npid).WaitAsync(Bound)).State);
        }
        finally
        {
            await Cleanup.KillAsync(tenant, npid);
        }
    }

    [Fact]
    public async Task A_layer_no_tag_references_and_nothing_runs_from_leaves_the_nodes_cache()
    {
        var tenant = await Node.SdkAsync(Tenant);

        // A layer of its own: the busybox tarball with two more end-of-archive blocks (the same files, another digest).
        var own = Path.Combine(Path.GetDirectoryName(fixture.Busybox)!, "busybox-evicted.tar");
        File.Copy(fixture.Busybox, own, overwrite: true);
        await using (var append = new FileStream(own, FileMode.Append))
        {
            await append.WriteAsync(new byte[1024]);
        }

        ImageInfo pushed;
        await using (var layer = File.OpenRead(own))
        {
            pushed = await tenant.Images.PushAsync("evicted:1", layer, BusyboxConfig).WaitAsync(Bound);
        }

        var root = Path.Combine(fixture.ImageCache, pushed.Layer["sha256:".Length..], "rootfs");
        var npid = await tenant.SpawnAsync(new ProcessSpec { Path = "/bin/echo", Args = ["from a layer about to go"], Image = "evicted:1", NoHandshake = true });
        Assert.Equal(0, (await tenant.WaitAsync(npid).WaitAsync(Bound)).ExitCode);
        Assert.True(Directory.Exists(root));

        // Untagged and ended (its container, if any, stops after its linger): the node's sweep (every 1 s here) removes it.
        await tenant.Images.DeleteAsync("evicted:1");
        var deadline = DateTime.UtcNow + Bound;
        while (Directory.Exists(root))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{root} is still in the image cache; the node's log ends:\n{Node.Log[^Math.Min(6000, Node.Log.Length)..]}");
            await Task.Delay(100);
        }
    }

    private async Task<ImageInfo> PushBusyboxAsync(string image)
    {
        var images = (await Node.SdkAsync(Tenant)).Images;
        await using var layer = File.OpenRead(fixture.Busybox);
        return await images.PushAsync(image, layer, BusyboxConfig).WaitAsync(Bound);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<(uint Uid, uint Gid, int Mode)> OwnerAsync(string path)
    {
        var (code, stdout, _) = await NodeUnderTest.RunAsync("stat", ["-c", "%u %g %a", path]);
        Assert.Equal(0, code);
        var parts = stdout.Trim().Split(' ');
        return (uint.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), uint.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt32(parts[2], 8));
    }

    private static async Task<string> Problem(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(text);
            Assert.Equal(code, problem.RootElement.GetProperty("code").GetString());
            return problem.RootElement.GetProperty("detail").GetString()!;
        }
    }

    /// <summary>A body that only states its length; counts what it was asked to send.</summary>
    private sealed class NeverSentBody : HttpContent
    {
        private readonly long _length;
        private long _sent;

        public NeverSentBody(long length)
        {
            _length = length;
            Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        }

        public long Sent => Interlocked.Read(ref _sent);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new byte[64 * 1024];
            for (var left = _length; left > 0; left -= chunk.Length)
            {
                var n = (int)Math.Min(chunk.Length, left);
                await stream.WriteAsync(chunk.AsMemory(0, n));
                Interlocked.Add(ref _sent, n);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
