using System.Text;
using Nefele.InProcess;

// A program run as a Nefele process by the end-to-end tests; speaks the same ping-pong as their C program.
await using var me = NefeleProcess.Connect();
var self = await me.SelfAsync();
switch (args)
{
    case ["pong", var name]:
        var holders = await me.RegisterAsync(name);
        Console.WriteLine($"registered {name} holders={holders.Count} self={self.Npid}");
        await foreach (var m in me.ReceiveAllAsync())
        {
            var text = m.Data.ToStringUtf8();
            if (text == "quit")
            {
                return 0;
            }

            await me.SendAsync(m.From, Encoding.UTF8.GetBytes("pong:" + text), new SendOptions { Tag = "pong", Ack = true });
        }

        return 1;
    case ["logs-cursor", var cursor]:
        // A log query continued with a cursor the caller made up (or one another tenant holds).
        try
        {
            var reply = await me.QueryLogsAsync(new Nefele.Protocol.V1.LogsQueryRequest { Cursor = cursor });
            Console.WriteLine($"cursor answered records={reply.Records.Count} complete={reply.Complete}");
        }
        catch (NefeleProcessException e)
        {
            Console.WriteLine($"cursor error={e.Code} {e.Message}");
        }

        return 0;
    case ["ping", var target, var countText]:
        var count = int.Parse(countText, System.Globalization.CultureInfo.InvariantCulture);
        var found = await me.WaitForNameAsync(target, TimeSpan.FromSeconds(20));
        Console.WriteLine($"waited holders={found.Count}");
        for (var i = 1; i <= count; i++)
        {
            await me.SendAsync(target, Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), new SendOptions { Tag = "ping" });
        }

        for (var i = 1; i <= count; i++)
        {
            var reply = await me.ReceiveAsync(TimeSpan.FromSeconds(20), "pong");
            Console.WriteLine($"reply {reply.Data.ToStringUtf8()} tag={reply.Tag} seq={reply.Seq}");
        }

        await me.SendAsync(target, Encoding.UTF8.GetBytes("quit"), new SendOptions { Ack = true });
        Console.WriteLine("done");
        return 0;
    case ["ping-batch", var target, var countText]:
        // All pings first, then the replies taken in batches as they queue up.
        count = int.Parse(countText, System.Globalization.CultureInfo.InvariantCulture);
        await me.WaitForNameAsync(target, TimeSpan.FromSeconds(20));
        for (var i = 1; i <= count; i++)
        {
            await me.SendAsync(target, Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), new SendOptions { Tag = "ping" });
        }

        for (var got = 0; got < count;)
        {
            var batch = await me.ReceiveManyAsync(count - got, TimeSpan.FromSeconds(20), "pong");
            if (batch.Count == 0)
            {
                Console.Error.WriteLine($"no reply within 20 s after {got}");
                return 1;
            }

            Console.WriteLine($"batch {batch.Count}");
            foreach (var reply in batch)
            {
                Console.WriteLine($"reply {reply.Data.ToStringUtf8()} tag={reply.Tag} seq={reply.Seq}");
            }

            got += batch.Count;
        }

        await me.SendAsync(target, Encoding.UTF8.GetBytes("quit"), new SendOptions { Ack = true });
        Console.WriteLine("done");
        return 0;
    case ["spawn", var path, .. var rest]:
        // A child spawned from inside: it continues this process's trace (the TRACEPARENT hostd gave it).
        var spec = new Nefele.Protocol.V1.ProcessSpec { Path = path };
        spec.Args.AddRange(rest);
        Console.WriteLine($"spawned {await me.SpawnAsync(spec)}");
        return 0;
    default:
        Console.Error.WriteLine("usage: nefele-process-probe pong NAME | ping TARGET COUNT | ping-batch TARGET COUNT | spawn PATH [ARG...]");
        return 2;
}
