using System.Diagnostics;
using Nefele.Client;
using Xunit;

namespace Nefele.Cluster.Tests;

/// <summary>
/// The certificates scripts/lib.sh makes (as scripts/cluster does) against the one trust rule of
/// <see cref="NefeleTls"/>, and the silo's refusal of cluster mode without TLS. No cluster needed.
/// </summary>
public sealed class TlsRuleTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    // Port 1 of loopback: no Redis there, and none is needed, since the flags are checked first.
    private static readonly string[] ClusterFlags = ["--redis", "127.0.0.1:1", "--advertise", "127.0.0.1", "--generator-id", "1"];
    private readonly string _dir = Directory.CreateTempSubdirectory("nct-tls-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_node_certificate_opens_silo_links_and_a_program_certificate_only_the_gateway()
    {
        await MakeAsync("ca", "node n1 10.9.9.1", "client");
        var node = Load("n1");
        var program = Load("client");

        Assert.True(node.Trusts(node.Certificate, NefeleTls.ServerAuth, NefeleTls.ClientAuth));
        Assert.True(node.Trusts(program.Certificate, NefeleTls.ClientAuth));
        Assert.False(node.Trusts(program.Certificate, NefeleTls.ServerAuth));
        Assert.True(program.Trusts(node.Certificate, NefeleTls.ServerAuth));
    }

    [Fact]
    public async Task A_certificate_of_another_authority_is_not_trusted()
    {
        await MakeAsync("ca", "node n1 10.9.9.1");
        var ours = Load("n1");
        var other = Path.Combine(_dir, "other");
        Directory.CreateDirectory(other);
        await ShAsync($". '{Lib}' && nefele_tls_ca '{other}' other && nefele_tls_cert '{other}' n1 node n1 10.9.9.1");
        var theirs = NefeleTls.FromPemFiles(Path.Combine(other, "ca.pem"), Path.Combine(other, "n1.pem"), Path.Combine(other, "n1.key"));

        Assert.False(ours.Trusts(theirs.Certificate, NefeleTls.ServerAuth));
        Assert.False(ours.Trusts(theirs.Certificate, NefeleTls.ClientAuth));
        Assert.False(theirs.Trusts(ours.Certificate, NefeleTls.ClientAuth));
    }

    [Fact]
    public async Task A_missing_or_mismatched_key_is_refused_naming_the_file()
    {
        await MakeAsync("ca", "node n1 10.9.9.1", "node n2 10.9.9.2");
        var missing = Path.Combine(_dir, "nope.key");
        var e = Assert.Throws<ArgumentException>(() => NefeleTls.FromPemFiles(Path.Combine(_dir, "ca.pem"), Path.Combine(_dir, "n1.pem"), missing));
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);

        var other = Path.Combine(_dir, "n2.key");
        e = Assert.Throws<ArgumentException>(() => NefeleTls.FromPemFiles(Path.Combine(_dir, "ca.pem"), Path.Combine(_dir, "n1.pem"), other));
        Assert.Contains(other, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_silo_refuses_cluster_mode_without_TLS_naming_the_missing_flags()
    {
        var (code, stderr) = await SiloAsync();
        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Contains("--tls-ca, --tls-cert, --tls-key missing", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_silo_refuses_a_program_certificate_as_its_node_certificate()
    {
        await MakeAsync("ca", "client");
        var (code, stderr) = await SiloAsync("--tls-ca", Path.Combine(_dir, "ca.pem"), "--tls-cert", Path.Combine(_dir, "client.pem"), "--tls-key", Path.Combine(_dir, "client.key"));
        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Contains("is not a node certificate", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_embedded_default_refuses_TLS_flags()
    {
        var (code, stderr) = await SiloAsync(clustered: false, "--insecure-transport");
        Assert.True(code == 2, $"exit {code}: {stderr}");
        Assert.Contains("apply to cluster mode", stderr, StringComparison.Ordinal);
    }

    private static string Lib => Path.Combine(RepoPaths.Root, "scripts", "lib.sh");

    private NefeleTls Load(string name) =>
        NefeleTls.FromPemFiles(Path.Combine(_dir, "ca.pem"), Path.Combine(_dir, $"{name}.pem"), Path.Combine(_dir, $"{name}.key"));

    /// <summary>"ca", "node NAME IP" or "client": made in the test's directory by scripts/lib.sh.</summary>
    private Task MakeAsync(params string[] what) =>
        ShAsync($". '{Lib}' && " + string.Join(" && ", what.Select(w => w.Split(' ') switch
        {
            ["ca"] => $"nefele_tls_ca '{_dir}' test",
            ["node", var name, var ip] => $"nefele_tls_cert '{_dir}' {name} node {name} {ip}",
            ["client"] => $"nefele_tls_cert '{_dir}' client client program",
            _ => throw new ArgumentException(w),
        })));

    private static async Task ShAsync(string script)
    {
        var (code, stderr) = await RunAsync("bash", ["-c", script]);
        Assert.True(code == 0, $"bash -c {script}: exit {code}: {stderr}");
    }

    private Task<(int Code, string Stderr)> SiloAsync(params string[] extra) => SiloAsync(clustered: true, extra);

    private Task<(int Code, string Stderr)> SiloAsync(bool clustered, params string[] extra) =>
        RunAsync("dotnet",
        [
            RepoPaths.Dll("Nefele.Silo", "nefele-silo"), "--node", "tls-rule-test",
            "--api", "http://127.0.0.1:1", "--hostd-socket", Path.Combine(_dir, "control.sock"),
            .. clustered ? ClusterFlags : [],
            .. extra,
        ]);

    private static async Task<(int Code, string Stderr)> RunAsync(string file, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Bound);
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {Bound}");
        }

        return (p.ExitCode, await stderr + await stdout);
    }
}
