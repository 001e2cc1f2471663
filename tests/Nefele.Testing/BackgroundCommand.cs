using System.Diagnostics;
using System.Text;

namespace Nefele.Testing;

/// <summary>
/// A command running in the background (nef logs -f …), its standard output readable as it
/// comes; disposing it kills it by its pid if it is still running.
/// </summary>
public sealed class BackgroundCommand : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _out = new();
    private readonly Task _reading;
    private readonly Task<string> _err;

    public BackgroundCommand(string file, IEnumerable<string> args, IDictionary<string, string?>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in env ?? new Dictionary<string, string?>())
        {
            psi.Environment[k] = v;
        }

        _process = Process.Start(psi)!;
        _err = _process.StandardError.ReadToEndAsync();
        _reading = ReadAsync();
    }

    /// <summary>What it has printed on standard output so far.</summary>
    public string Out
    {
        get
        {
            lock (_out)
            {
                return _out.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Waits (up to <paramref name="bound"/>) for it to end by itself.</summary>
    public async Task<(int Code, string Stdout, string Stderr)> WaitAsync(TimeSpan bound)
    {
        await _process.WaitForExitAsync().WaitAsync(bound);
        await _reading;
        return (_process.ExitCode, Out, await _err);
    }

    /// <summary>Its standard error, once it has ended (for failure messages).</summary>
    public string ErrorIfEnded => _err.IsCompleted ? _err.Result : "(still running)";

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }

    private async Task ReadAsync()
    {
        var buffer = new char[4096];
        int n;
        while ((n = await _process.StandardOutput.ReadAsync(buffer)) > 0)
        {
            lock (_out)
            {
                _out.Append(buffer, 0, n);
            }
        }
    }
}
