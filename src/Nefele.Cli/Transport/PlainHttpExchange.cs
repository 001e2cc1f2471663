using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Nefele.Cli.Transport;

/// <summary>
/// One HTTP/1.1 request and its whole answer over a new TCP connection (<see cref="TcpConnection"/>), on the calling thread.
/// nef sends every request to a plain <c>http://</c> endpoint whose answer it reads whole this way
/// (spawn, ps, kill, logs without -f, the admin commands); the event and log streams, and every
/// <c>https://</c> endpoint, stay on <see cref="HttpClient"/>.
/// <para>
/// Why a second HTTP client: SocketsHttpHandler opens its connection on a thread-pool thread
/// whatever the request (a synchronous Send and a blocking ConnectCallback included), so its first
/// request starts the pool's threads and waits for them; with its set-up that was a third of
/// <c>nef ps</c>'s CPU and most of its context switches (see the README's Start-up section for the
/// figures). What it does here is small: the request line and headers, <c>Connection: close</c>
/// (one request per connection, nothing kept), and an answer delimited by Content-Length, by chunked
/// transfer coding, or by the end of the connection. A redirect is answered as it is, never followed.
/// </para>
/// <para>
/// Errors keep HttpClient's shape so the failover rules read them the same way: no connection
/// (refused, unknown name, no answer within the connect timeout) is an
/// <see cref="HttpRequestException"/> with <see cref="HttpRequestError.ConnectionError"/> or
/// <see cref="HttpRequestError.NameResolutionError"/>; a connection that breaks after the request
/// went out, or an answer that is not HTTP, is one with <see cref="HttpRequestError.ResponseEnded"/>
/// or <see cref="HttpRequestError.InvalidResponse"/>.
/// </para>
/// </summary>
internal static class PlainHttpExchange
{
    /// <summary>The most nef reads of a status line and headers before it calls the answer malformed.</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    public static HttpResponseMessage Send(HttpRequestMessage request, string? bearerToken, TimeSpan connectTimeout, CancellationToken ct)
    {
        var uri = request.RequestUri ?? throw new ArgumentException("the request has no URI", nameof(request));
        var bytes = Serialize(request, uri, bearerToken);
        ct.ThrowIfCancellationRequested();
        using var connection = Connect(uri, connectTimeout);

        // Ctrl+C (for the commands that take it over) ends the connection under a blocked send or
        // receive. Declared after the connection, so it is unregistered before the connection closes.
        using var cancel = ct.Register(static c => ((TcpConnection)c!).Shutdown(), connection);
        try
        {
            connection.SendAll(bytes);
            var response = Read(connection);
            ct.ThrowIfCancellationRequested();
            return response;
        }
        catch (Exception e) when (e is IOException or HttpRequestException && ct.IsCancellationRequested)
        {
            throw new OperationCanceledException(ct);
        }
        catch (IOException e)
        {
            throw new HttpRequestException(HttpRequestError.ResponseEnded, e.Message, e);
        }
    }

    private static byte[] Serialize(HttpRequestMessage request, Uri uri, string? bearerToken)
    {
        var head = new StringBuilder(256);
        head.Append(request.Method.Method).Append(' ').Append(uri.PathAndQuery).Append(" HTTP/1.1\r\n");
        var host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host : uri.IdnHost;
        head.Append("Host: ").Append(host);
        if (!uri.IsDefaultPort)
        {
            head.Append(':').Append(uri.Port.ToString(CultureInfo.InvariantCulture));
        }

        head.Append("\r\n");
        if (bearerToken is not null)
        {
            AppendHeader(head, "Authorization", "Bearer " + bearerToken);
        }

        foreach (var header in request.Headers.NonValidated)
        {
            AppendHeader(head, header.Key, string.Join(", ", header.Value));
        }

        byte[] body = [];
        if (request.Content is { } content)
        {
            using (var stream = content.ReadAsStream())
            using (var buffer = new MemoryStream())
            {
                stream.CopyTo(buffer);
                body = buffer.ToArray();
            }

            foreach (var header in content.Headers.NonValidated)
            {
                if (!header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                {
                    AppendHeader(head, header.Key, string.Join(", ", header.Value));
                }
            }
        }

        if (body.Length > 0 || request.Method == HttpMethod.Post || request.Method == HttpMethod.Put)
        {
            head.Append("Content-Length: ").Append(body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        }

        head.Append("Connection: close\r\n\r\n");
        var bytes = new byte[Encoding.UTF8.GetByteCount(head.ToString()) + body.Length];
        var written = Encoding.UTF8.GetBytes(head.ToString(), bytes);
        body.CopyTo(bytes, written);
        return bytes;
    }

    private static void AppendHeader(StringBuilder head, string name, string value)
    {
        // A line break in a value would end the header early and let the rest pass as headers of its own.
        if (value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            throw new NefeleApiException($"the {name} header to send holds a line break (check the API key: NEFELE_TOKEN, the config file's token line or the key file)");
        }

        head.Append(name).Append(": ").Append(value).Append("\r\n");
    }

    private static TcpConnection Connect(Uri uri, TimeSpan timeout)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(uri.DnsSafeHost, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = Dns.GetHostAddresses(uri.DnsSafeHost);
            }
            catch (SocketException e)
            {
                throw new HttpRequestException(HttpRequestError.NameResolutionError, $"{e.Message} ({uri.DnsSafeHost})", e);
            }
        }

        IOException? last = null;
        foreach (var address in addresses)
        {
            try
            {
                return TcpConnection.Connect(address, uri.Port, timeout);
            }
            catch (IOException e)
            {
                last = e;
            }
        }

        var why = last is null ? "the name has no address"
            : last.HResult is TcpConnection.EINPROGRESS or TcpConnection.ETIMEDOUT ? $"no connection within {timeout.TotalSeconds:0.###} s"
            : last.Message;
        throw new HttpRequestException(HttpRequestError.ConnectionError, why, last);
    }

    private static HttpResponseMessage Read(TcpConnection connection)
    {
        var buffer = new byte[16 * 1024];
        var length = 0;
        int headerEnd;
        while ((headerEnd = buffer.AsSpan(0, length).IndexOf(HeaderEnd)) < 0)
        {
            if (length == MaxHeaderBytes)
            {
                throw Malformed($"no end of the headers in the first {MaxHeaderBytes} bytes");
            }

            if (length == buffer.Length)
            {
                Array.Resize(ref buffer, Math.Min(buffer.Length * 2, MaxHeaderBytes));
            }

            var read = connection.Receive(buffer.AsSpan(length));
            if (read == 0)
            {
                throw new HttpRequestException(HttpRequestError.ResponseEnded, length == 0
                    ? "the node closed the connection without answering"
                    : "the node closed the connection in the middle of its answer's headers");
            }

            length += read;
        }

        var lines = Encoding.ASCII.GetString(buffer, 0, headerEnd).Split("\r\n");
        var response = ParseStatus(lines[0]);
        var contentHeaders = new List<(string Name, string Value)>();
        long? contentLength = null;
        var chunked = false;
        foreach (var line in lines.AsSpan(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw Malformed($"a header line without a name: '{Shorten(line)}'");
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                contentLength = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) && (contentLength is null || contentLength == parsed)
                    ? parsed
                    : throw Malformed($"Content-Length '{Shorten(value)}'");
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                chunked = value.Equals("chunked", StringComparison.OrdinalIgnoreCase)
                    ? true
                    : throw Malformed($"transfer coding '{Shorten(value)}' (nef reads chunked only)");
            }
            else if (name.StartsWith("Content-", StringComparison.OrdinalIgnoreCase) || name.Equals("Expires", StringComparison.OrdinalIgnoreCase) || name.Equals("Last-Modified", StringComparison.OrdinalIgnoreCase))
            {
                contentHeaders.Add((name, value));
            }
            else
            {
                response.Headers.TryAddWithoutValidation(name, value);
            }
        }

        var reader = new BodyReader(connection, buffer, headerEnd + HeaderEnd.Length, length);
        var body = chunked ? reader.ReadChunked()
            : contentLength is { } known ? reader.ReadExactly(known)
            : reader.ReadToEnd();
        var content = new ByteArrayContent(body);
        foreach (var (name, value) in contentHeaders)
        {
            content.Headers.TryAddWithoutValidation(name, value);
        }

        response.Content = content;
        return response;
    }

    private static HttpResponseMessage ParseStatus(string line)
    {
        // HTTP/1.1 200 OK (the reason phrase may be empty or absent)
        var parts = line.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal)
            || parts[1].Length != 3 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status) || status < 100)
        {
            throw Malformed($"status line '{Shorten(line)}'");
        }

        return new HttpResponseMessage((HttpStatusCode)status)
        {
            ReasonPhrase = parts.Length == 3 ? parts[2] : string.Empty,
            Version = HttpVersion.Version11,
        };
    }

    private static HttpRequestException Malformed(string what) =>
        new(HttpRequestError.InvalidResponse, "the node's answer is not valid HTTP: " + what);

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..80] + "…";

    /// <summary>Reads the body from what followed the headers in the buffer, then from the connection.</summary>
    private sealed class BodyReader(TcpConnection connection, byte[] buffer, int start, int end)
    {
        private byte[] buffer = buffer;
        private int start = start;
        private int end = end;

        public byte[] ReadExactly(long count)
        {
            if (count > Array.MaxLength)
            {
                throw Malformed($"Content-Length {count}");
            }

            var body = new byte[count];
            for (var filled = 0; filled < body.Length;)
            {
                if (start == end && !Fill())
                {
                    throw new HttpRequestException(HttpRequestError.ResponseEnded, $"the node closed the connection after {filled} of {count} bytes of its answer");
                }

                var n = Math.Min(end - start, body.Length - filled);
                buffer.AsSpan(start, n).CopyTo(body.AsSpan(filled));
                start += n;
                filled += n;
            }

            return body;
        }

        public byte[] ReadToEnd()
        {
            using var body = new MemoryStream();
            do
            {
                body.Write(buffer, start, end - start);
                start = end;
            }
            while (Fill());

            return body.ToArray();
        }

        public byte[] ReadChunked()
        {
            using var body = new MemoryStream();
            while (true)
            {
                // chunk-size [; extensions] CRLF, data, CRLF; a size of 0 ends it, then trailers and an empty line.
                var sizeLine = ReadLine();
                var semicolon = sizeLine.IndexOf(';', StringComparison.Ordinal);
                var hex = (semicolon < 0 ? sizeLine : sizeLine[..semicolon]).Trim();
                if (!long.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size) || size < 0 || hex.Length == 0)
                {
                    throw Malformed($"chunk size '{Shorten(sizeLine)}'");
                }

                if (size == 0)
                {
                    while (ReadLine().Length > 0)
                    {
                        // Trailers: nef uses none.
                    }

                    return body.ToArray();
                }

                body.Write(ReadExactly(size));
                if (ReadLine().Length != 0)
                {
                    throw Malformed("a chunk longer than its size");
                }
            }
        }

        private string ReadLine()
        {
            while (true)
            {
                var newline = buffer.AsSpan(start, end - start).IndexOf("\r\n"u8);
                if (newline >= 0)
                {
                    var line = Encoding.ASCII.GetString(buffer, start, newline);
                    start += newline + 2;
                    return line;
                }

                if (end - start >= MaxHeaderBytes)
                {
                    throw Malformed($"a line of more than {MaxHeaderBytes} bytes in the chunked answer");
                }

                if (!Fill())
                {
                    throw new HttpRequestException(HttpRequestError.ResponseEnded, "the node closed the connection in the middle of its chunked answer");
                }
            }
        }

        /// <summary>Reads more from the connection, keeping what is unread; false at its end.</summary>
        private bool Fill()
        {
            if (start > 0)
            {
                buffer.AsSpan(start, end - start).CopyTo(buffer);
                end -= start;
                start = 0;
            }

            if (end == buffer.Length)
            {
                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var read = connection.Receive(buffer.AsSpan(end));
            end += read;
            return read > 0;
        }
    }
}
