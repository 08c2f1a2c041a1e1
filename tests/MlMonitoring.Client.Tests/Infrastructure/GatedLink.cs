using System.Net;
using System.Net.Sockets;

namespace MlMonitoring.Client.Tests.Infrastructure;

/// <summary>
/// A slow link: a TCP forwarder between a client and the sidecar. What the client sends goes through at once; what
/// the sidecar answers is held while the link holds answers, and passes when it is opened.
/// </summary>
public sealed class GatedLink : IAsyncDisposable
{
    private readonly int _upstreamPort;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Socket> _sockets = [];
    private readonly Task _acceptLoop;
    private volatile TaskCompletionSource _open = Opened();

    public GatedLink(int upstreamPort)
    {
        _upstreamPort = upstreamPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptAsync();
    }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    /// <summary>From now on the sidecar's answers wait in the link.</summary>
    public void HoldAnswers() => _open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Lets the held answers, and all later ones, through.</summary>
    public void Open() => _open.TrySetResult();

    private static TaskCompletionSource Opened()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }

    private async Task AcceptAsync()
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptSocketAsync(_stop.Token);
                var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await upstream.ConnectAsync(IPAddress.Loopback, _upstreamPort, _stop.Token);
                client.NoDelay = true;
                lock (_sockets)
                {
                    _sockets.Add(client);
                    _sockets.Add(upstream);
                }

                _ = PumpAsync(client, upstream, gated: false);
                _ = PumpAsync(upstream, client, gated: true);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task PumpAsync(Socket from, Socket to, bool gated)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                if (gated)
                {
                    await _open.Task.WaitAsync(_stop.Token);
                }

                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
            }

            to.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        Open();
        await _stop.CancelAsync();
        _listener.Stop();
        await _acceptLoop;
        lock (_sockets)
        {
            foreach (var socket in _sockets)
            {
                socket.Dispose();
            }
        }

        _stop.Dispose();
    }
}
