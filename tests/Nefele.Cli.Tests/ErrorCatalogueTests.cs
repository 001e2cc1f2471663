using System.Reflection;
using System.Text.RegularExpressions;
using Nefele.Client;
using Nefele.Errors;
using Nefele.Protocol.V1;

namespace Nefele.Cli.Tests;

/// <summary>The error catalogue (enum ErrorCode in common.proto) and its copies agree.</summary>
public sealed partial class ErrorCatalogueTests
{
    private static IEnumerable<string> ProtoCodes() =>
        CommonReflection.Descriptor.EnumTypes.Single(e => e.Name == "ErrorCode").Values
            .Where(v => v.Number != 0)
            .Select(v => v.Name["ERROR_CODE_".Length..].ToLowerInvariant());

    private static IEnumerable<string> CSharpConstants() =>
        typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral)
            .Select(f => (string)f.GetRawConstantValue()!);

    [Fact]
    public void Every_proto_code_is_a_csharp_constant_and_no_other()
    {
        Assert.Equal(ProtoCodes().Order(), CSharpConstants().Order());
    }

    [Fact]
    public void The_list_of_all_codes_holds_every_constant_once()
    {
        Assert.Equal(CSharpConstants().Order(), ErrorCodes.All.Order());
        Assert.Equal(ErrorCodes.All.Count, ErrorCodes.All.Distinct().Count());
    }

    [Fact]
    public void Rest_status_codes_have_their_codes()
    {
        foreach (var code in new[] { "method_not_allowed", "payload_too_large", "uri_too_long", "unsupported_media_type", "invalid_json" })
        {
            Assert.Contains(code, ErrorCodes.All);
        }
    }

    [Fact]
    public void Nefele_h_documents_an_errno_for_exactly_the_catalogue_codes()
    {
        var root = RepositoryRoot();
        var header = File.ReadAllText(Path.Combine(root, "native", "include", "nefele.h"));
        var documented = HeaderRow().Matches(header).Select(m => m.Groups[1].Value).Order().ToArray();
        Assert.Equal(ProtoCodes().Order(), documented);

        // Each documented NEFELE_E* name is defined as the errno its row names.
        foreach (Match row in HeaderRow().Matches(header))
        {
            Assert.Matches($@"#define {row.Groups[2].Value} \({Regex.Escape(row.Groups[3].Value)}\)", header);
        }
    }

    [Fact]
    public void Every_code_the_process_socket_sends_is_a_catalogue_code()
    {
        var root = RepositoryRoot();
        var proto = File.ReadAllText(Path.Combine(root, "protos", "nefele", "v1", "common.proto"));
        var socket = SocketCode().Matches(proto).Select(m => m.Groups[1].Value.ToLowerInvariant()).ToArray();
        Assert.Contains("not_a_nefele_process", socket);
        Assert.Contains("program_not_found", socket);
        Assert.All(socket, code => Assert.Contains(code, ErrorCodes.All));
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Nefele.Orleans.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("run from inside the repository");
    }

    // "  // [socket] …\n  ERROR_CODE_X = n;"
    [GeneratedRegex(@"// \[socket\][^\n]*\n\s*ERROR_CODE_([A-Z_]+) = \d+;")]
    private static partial Regex SocketCode();

    // " *     npid_not_found             NEFELE_ENPID_NOT_FOUND              -ESRCH"
    [GeneratedRegex(@"^ \*\s+([a-z_]+)\s+(NEFELE_E[A-Z_]+)\s+(-E[A-Z0-9]+)$", RegexOptions.Multiline)]
    private static partial Regex HeaderRow();
}
