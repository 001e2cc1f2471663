using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Nefele.Client;
using Orleans.Configuration;
using Xunit;

namespace Nefele.Cluster.Tests;

/// <summary>The cluster's Orleans links are mutual TLS: a program needs a certificate of the cluster's CA.</summary>
public sealed partial class ClusterTests
{
    private static readonly TimeSpan RefusalBound = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_program_with_the_cluster_certificate_reaches_every_node_gateway_over_TLS()
    {
        var tenant = await NewTenantAsync(cluster);
        for (var k = 1; k <= ClusterFixture.InitialNodes; k++)
        {
            var gateway = new IPEndPoint(IPAddress.Parse($"{ClusterFixture.Subnet}.{10 + k}"), 30000);
            await using var connection = await NefeleConnection.ConnectAsync(cluster.Options(gateway)).WaitAsync(Bound);
            Assert.Empty(await connection.Tenant(tenant.Name).PsAsync().WaitAsync(Bound));
        }
    }

    [Fact]
    public async Task A_program_without_a_certificate_cannot_connect_to_the_cluster() => await NotServedAsync(tls: null);

    [Fact]
    public async Task A_program_with_a_certificate_of_another_authority_cannot_connect_to_the_cluster()
    {
        // It trusts the cluster's CA, so only the silos' refusal of its certificate can stop it.
        using var rogue = CertificateOfAnotherAuthority();
        await NotServedAsync(NefeleTls.Create(cluster.Tls!.Authority, rogue));
    }

    /// <summary>
    /// Connects with the admin key (valid) and <paramref name="tls"/>, then asks for ps: that must fail,
    /// or still be unanswered after <see cref="RefusalBound"/> (the Orleans client keeps retrying gateways
    /// that drop it), while the cluster's own certificate is served well within it (the test above).
    /// </summary>
    private async Task NotServedAsync(NefeleTls? tls)
    {
        using var cts = new CancellationTokenSource();
        var attempt = Task.Run(async () =>
        {
            var options = new NefeleClientOptions { ClusterId = cluster.ClusterId, ApiKey = cluster.AdminKey };
            await using var connection = await NefeleCluster.ConnectAsync(ClusterFixture.Redis, tls is null ? options : options.UseTls(tls), cts.Token);
            return await connection.Tenant(NefeleDefaults.Tenant).PsAsync().WaitAsync(cts.Token);
        });
        var first = await Task.WhenAny(attempt, Task.Delay(RefusalBound));
        Assert.False(first == attempt && attempt.IsCompletedSuccessfully, "the connection was admitted and served a call");
        output.WriteLine(first == attempt
            ? $"refused: {attempt.Exception?.GetBaseException().Message}"
            : $"not served within {RefusalBound.TotalSeconds} s");

        await cts.CancelAsync();
        var ended = await Record.ExceptionAsync(() => attempt.WaitAsync(Bound));
        Assert.False(ended is TimeoutException, "the refused connection did not stop when cancelled");
    }

    private static X509Certificate2 CertificateOfAnotherAuthority()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=another CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=a program", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(NefeleTls.ClientAuth)], false));
        using var issued = request.Create(ca, now.AddHours(-1), now.AddHours(12), RandomNumberGenerator.GetBytes(16));
        return issued.CopyWithPrivateKey(key);
    }
}
