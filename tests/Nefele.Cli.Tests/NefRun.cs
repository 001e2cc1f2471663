using System.Text;

namespace Nefele.Cli.Tests;

/// <summary>Runs nef in-process with a given environment and captures what it prints.</summary>
internal sealed record NefRun(int Status, string Out, string Err)
{
    public static Task<NefRun> RunAsync(IReadOnlyDictionary<string, string?> env, params string[] args) =>
        RunAsync(env, new StringWriter(), args);

    public static Task<NefRun> RunAsync(IReadOnlyDictionary<string, string?> env, StringWriter output, params string[] args) =>
        RunAsync(env, output, [], args);

    /// <summary>nef with <paramref name="input"/> as its standard input.</summary>
    public static async Task<NefRun> RunAsync(IReadOnlyDictionary<string, string?> env, StringWriter output, byte[] input, params string[] args)
    {
        using var raw = new MemoryStream();
        var error = new StringWriter();
        var status = await NefApp.RunAsync(args, k => env.GetValueOrDefault(k), output, raw, error, TimeProvider.System, CancellationToken.None,
            input: () => new MemoryStream(input));
        return new NefRun(status, output + Encoding.UTF8.GetString(raw.ToArray()), error.ToString());
    }
}
