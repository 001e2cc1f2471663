using System.Text;
using Nefele.Client;

// The node on this machine (gateway 127.0.0.1:30000), with the API key nef would use:
// NEFELE_TOKEN, else ~/.config/nefele/config, else /etc/nefele/admin.key.
await using var nefele = await NefeleConnection.ConnectAsync();
var tenant = nefele.Tenant("default");

// Spawn: an ordinary Linux program, with a memory limit. The NPID names it anywhere in the cluster.
var npid = await tenant.SpawnAsync(new ProcessSpec
{
    Path = "/bin/sh",
    Args = ["-c", "echo hello from $(hostname); exit 3"],
    MemoryBytes = 64 << 20,
});
Console.WriteLine($"spawned {npid}");

// Monitor: each state it goes through, once, until it ends.
await foreach (var e in tenant.MonitorAsync(npid))
{
    Console.WriteLine(e.End is null ? $"{npid} {e.State}" : $"{npid} {e.State}: {e.End.Describe()}");
}

// Logs: what it wrote to stdout and stderr.
var logs = await tenant.ReadLogsAsync(npid);
Console.Write(Encoding.UTF8.GetString(logs.Data));

// Errors: a NefeleException with a stable code and a sentence saying what was wrong.
try
{
    await tenant.SpawnAsync(new ProcessSpec { Path = "/no/such/program" });
}
catch (NefeleException e)
{
    Console.WriteLine($"{e.Message} ({e.Code})");
}

// Follow a longer process's output as it comes. Ctrl-C ends this program as it ends any other;
// the process goes on on its node (nef kill NPID), here for a minute at most.
var ticker = await tenant.SpawnAsync(new ProcessSpec
{
    Path = "/bin/sh",
    Args = ["-c", "for i in $(seq 60); do echo tick $i; sleep 1; done"],
});
await foreach (var chunk in tenant.LogsAsync(ticker, follow: true))
{
    Console.Write(Encoding.UTF8.GetString(chunk));
}
