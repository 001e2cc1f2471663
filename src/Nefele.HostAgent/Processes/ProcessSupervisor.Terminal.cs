using Nefele.Protocol.V1;
using Nefele.Validation;
using ErrorCodes = Nefele.Client.ErrorCodes;

namespace Nefele.HostAgent.Processes;

public sealed partial class ProcessSupervisor
{
    /// <summary>
    /// Types into a tty process's terminal and/or resizes it (attach); null on success, else the Error to return.
    /// </summary>
    public async Task<Error?> TerminalInputAsync(TerminalInput input, CancellationToken ct)
    {
        Engines.PseudoTerminal? terminal;
        bool running;
        lock (gate)
        {
            if (!byNpid.TryGetValue(input.Npid, out var p))
            {
                return new Error { Code = ErrorCodes.NpidNotFound, Message = $"no process {input.Npid} on node {options.Node}" };
            }

            terminal = p.Terminal;
            running = p.Exit is null && p.Id is not null;
            if (!p.Spec.Tty)
            {
                return new Error { Code = ErrorCodes.BadRequest, Message = $"process {input.Npid} has no terminal (it was spawned without --tty)" };
            }
        }

        if (!running || terminal is null)
        {
            return NotRunning(input.Npid);
        }

        if (input.Data.Length > Limits.MaxTerminalInputBytes)
        {
            return new Error { Code = ErrorCodes.BadRequest, Message = $"terminal input of {input.Data.Length} bytes is too large (at most {Limits.MaxTerminalInputBytes} per call)" };
        }

        var resize = input.Rows != 0 || input.Cols != 0;
        if (resize && (input.Rows is 0 or > Limits.MaxTerminalSize || input.Cols is 0 or > Limits.MaxTerminalSize))
        {
            return new Error { Code = ErrorCodes.BadRequest, Message = $"window size {input.Rows}x{input.Cols} is not one (rows and columns 1..{Limits.MaxTerminalSize})" };
        }

        try
        {
            if (resize)
            {
                terminal.Resize((ushort)input.Rows, (ushort)input.Cols);
            }

            if (!input.Data.IsEmpty && !await terminal.TypeAsync(input.Data.Memory, Limits.TerminalInputWait, ct).ConfigureAwait(false))
            {
                return new Error { Code = ErrorCodes.BadRequest, Message = $"process {input.Npid} reads none of its terminal's input (the input queue is full): input refused" };
            }
        }
        catch (ObjectDisposedException)
        {
            // It exited meanwhile and its terminal was closed.
            return NotRunning(input.Npid);
        }
        catch (IOException e)
        {
            return new Error { Code = ErrorCodes.NotRunning, Message = $"process {input.Npid}'s terminal is gone ({e.Message})" };
        }

        return null;
    }

    private Error NotRunning(string npid) =>
        new() { Code = ErrorCodes.NotRunning, Message = $"process {npid} is not running on node {options.Node}" };
}
