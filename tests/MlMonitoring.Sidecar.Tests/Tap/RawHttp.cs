using System.Net.Sockets;
using System.Text;

namespace MlMonitoring.Sidecar.Tests.Tap;

/// <summary>An HTTP client on a bare socket, for requests whose bytes a test sends in parts of its choosing.</summary>
internal static class RawHttp
{
    /// <summary>Reads the answer until it holds <paramref name="text"/> (a chunked answer's text ends before its last chunk).</summary>
    public static async Task<string> ReadUntilAsync(NetworkStream stream, string text)
    {
        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!received.ToString().Contains(text, StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            Assert.True(read > 0, $"the connection closed after: {received}");
            received.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return received.ToString();
    }
}
