using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Orleans.Connections.Security;

namespace Nefele.Client;

/// <summary>
/// Mutual TLS of a cluster's Orleans links: the cluster's certificate authority and this end's
/// certificate (with its private key). A peer is trusted when its certificate chains to that
/// authority (and to no other root) and carries the extended key usage its role needs: silos
/// present <see cref="ServerAuth"/> (they serve) and <see cref="ClientAuth"/> (they call each
/// other); programs present <see cref="ClientAuth"/> only, so a program's certificate opens the
/// gateway and never the silo-to-silo port. Host names are not checked: the authority is the
/// cluster's own and issues certificates to its nodes and programs only.
/// The silo and the SDK share this one rule.
/// </summary>
public sealed class NefeleTls
{
    /// <summary>Extended key usage "TLS Web Server Authentication".</summary>
    public const string ServerAuth = "1.3.6.1.5.5.7.3.1";

    /// <summary>Extended key usage "TLS Web Client Authentication".</summary>
    public const string ClientAuth = "1.3.6.1.5.5.7.3.2";

    private NefeleTls(X509Certificate2 authority, X509Certificate2 certificate)
    {
        Authority = authority;
        Certificate = certificate;
    }

    /// <summary>The cluster's certificate authority: the only root a peer's certificate may chain to.</summary>
    public X509Certificate2 Authority { get; }

    /// <summary>This end's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>From certificates already loaded; <paramref name="certificate"/> must hold its private key.</summary>
    /// <param name="authority">The cluster's CA certificate.</param>
    /// <param name="certificate">This end's certificate, with its private key.</param>
    /// <returns>The TLS settings.</returns>
    public static NefeleTls Create(X509Certificate2 authority, X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(authority);
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"the certificate {certificate.Subject} has no private key", nameof(certificate));
        }

        return new NefeleTls(authority, certificate);
    }

    /// <summary>
    /// From PEM files: the authority's certificate, this end's certificate and its (unencrypted)
    /// private key, as <c>openssl</c> writes them. A missing or unreadable file, or a key that does
    /// not match the certificate, fails with a message naming the file.
    /// </summary>
    /// <param name="authorityFile">The cluster's CA certificate (PEM).</param>
    /// <param name="certificateFile">This end's certificate (PEM).</param>
    /// <param name="keyFile">Its private key (PEM, unencrypted).</param>
    /// <returns>The TLS settings.</returns>
    public static NefeleTls FromPemFiles(string authorityFile, string certificateFile, string keyFile)
    {
        var authority = Load(authorityFile, "CA certificate", () => X509Certificate2.CreateFromPem(File.ReadAllText(authorityFile)));
        var certificate = Load(certificateFile, "certificate", () => X509Certificate2.CreateFromPemFile(certificateFile, keyFile), keyFile);
        return new NefeleTls(authority, certificate);
    }

    /// <summary>True when <paramref name="peer"/> chains to <see cref="Authority"/> alone, is within its validity period and carries every one of <paramref name="usages"/>.</summary>
    /// <param name="peer">The certificate a peer presented.</param>
    /// <param name="usages">Extended key usages it must carry (<see cref="ServerAuth"/>, <see cref="ClientAuth"/>).</param>
    /// <returns>Whether it is trusted.</returns>
    public bool Trusts(X509Certificate2 peer, params string[] usages) => usages.Length > 0 && usages.All(u => Trusts(peer, u));

    private bool Trusts(X509Certificate2 peer, string usage)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Authority);
        // The cluster's authority publishes no revocation lists; a node leaves by losing its key.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(usage));
        return chain.Build(peer);
    }

    /// <summary>As the calling end: present <see cref="Certificate"/>, require a peer certificate that <see cref="Trusts(X509Certificate2, string[])"/> with <paramref name="peerUsages"/>.</summary>
    internal TlsOptions ConfigureClient(TlsOptions options, params string[] peerUsages)
    {
        options.LocalCertificate = Certificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (peer, _, _) => Trusts(peer, peerUsages);
        return options;
    }

    /// <summary>As the listening end: present <see cref="Certificate"/>, require a client certificate that <see cref="Trusts(X509Certificate2, string[])"/> with <paramref name="peerUsages"/>.</summary>
    internal TlsOptions ConfigureServer(TlsOptions options, params string[] peerUsages)
    {
        options.LocalCertificate = Certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (peer, _, _) => Trusts(peer, peerUsages);
        return options;
    }

    private static X509Certificate2 Load(string file, string what, Func<X509Certificate2> load, string? keyFile = null)
    {
        try
        {
            return load();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            var files = keyFile is null ? file : $"{file} (key {keyFile})";
            throw new ArgumentException($"cannot load the TLS {what} from {files}: {e.Message}", e);
        }
    }
}
