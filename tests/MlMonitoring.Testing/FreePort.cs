using System.Net;
using System.Net.Sockets;

namespace MlMonitoring.Testing;

/// <summary>A loopback TCP port nobody listens on at the moment of asking, and that nothing else will be given.</summary>
/// <remarks>
/// Asking the kernel for port 0 returns a port from the ephemeral range, which the kernel then also hands out as the
/// source port of outgoing connections: between the check and the server's bind, a scrape or a gRPC call made by
/// another test could take it ("address already in use", seen in CI). Ports here come from below the ephemeral range
/// (32768 and up on Linux), each once per test process, from a start that differs between processes running at the
/// same time; each is still checked free before it is handed out.
/// </remarks>
public static class FreePort
{
    private const int RangeStart = 20_000;
    private const int RangeSize = 12_000;

    private static int _next = Random.Shared.Next(RangeSize);

    public static int Next()
    {
        for (var attempt = 0; attempt < RangeSize; attempt++)
        {
            var port = RangeStart + (Interlocked.Increment(ref _next) % RangeSize);
            if (IsFree(port))
            {
                return port;
            }
        }

        throw new InvalidOperationException($"no free loopback port in {RangeStart}..{RangeStart + RangeSize - 1}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            // Both families: servers here listen on 127.0.0.1, 0.0.0.0 or "localhost" (which is also ::1).
            using var v4 = new TcpListener(IPAddress.Any, port);
            v4.Start();
        }
        catch (SocketException)
        {
            return false;
        }

        try
        {
            using var v6 = new TcpListener(IPAddress.IPv6Loopback, port);
            v6.Start();
            return true;
        }
        catch (SocketException error) when (error.SocketErrorCode is SocketError.AddressFamilyNotSupported or SocketError.AddressNotAvailable)
        {
            return true; // No IPv6 on this machine: nothing can listen there.
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
