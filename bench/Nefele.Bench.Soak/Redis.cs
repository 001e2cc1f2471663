using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Nefele.Bench.Soak;

/// <summary>Two inline Redis commands over a plain socket (INFO, DBSIZE): the soak needs no client library.</summary>
internal static class Redis
{
    public static async Task<long?> InfoFieldAsync(int port, string section, string field)
    {
        var reply = await CommandAsync(port, $"INFO {section}");
        foreach (var line in reply.Split("\r\n"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    public static async Task<long?> KeysAsync(int port)
    {
        var reply = await CommandAsync(port, "DBSIZE");
        return reply.StartsWith(':') ? long.Parse(reply[1..].Trim(), CultureInfo.InvariantCulture) : null;
    }

    private static async Task<string> CommandAsync(int port, string command)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(command + "\r\n"));
        var buffer = new byte[64 * 1024];
        var text = new StringBuilder();
        var expected = -1;
        while (true)
        {
            var n = await stream.ReadAsync(buffer);
            if (n == 0)
            {
                break;
            }

            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            var s = text.ToString();
            if (s.StartsWith(':') && s.EndsWith("\r\n", StringComparison.Ordinal))
            {
                break;
            }

            // A bulk string: $<length>\r\n<body>\r\n
            if (expected < 0 && s.StartsWith('$') && s.IndexOf("\r\n", StringComparison.Ordinal) is var eol and > 0)
            {
                expected = eol + 2 + int.Parse(s[1..eol], CultureInfo.InvariantCulture) + 2;
            }

            if (expected >= 0 && Encoding.ASCII.GetByteCount(s) >= expected)
            {
                break;
            }
        }

        return text.ToString();
    }
}
