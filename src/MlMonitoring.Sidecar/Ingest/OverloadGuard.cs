using System.Diagnostics.Metrics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using MlMonitoring.Sidecar.Core;

namespace MlMonitoring.Sidecar.Ingest;

/// <summary>
/// Bounds what the sidecar takes on: at most <c>Monitoring:MaxConcurrentCalls</c> calls at once, and no new call
/// while the managed heap is above <c>Monitoring:MaxHeapBytes</c>. Past either, the call is refused with
/// UNAVAILABLE and a <c>grpc-retry-pushback-ms</c> hint — the back-pressure signal OTLP and gRPC clients retry on —
/// instead of growing until the pod is killed with the model in it.
/// </summary>
internal sealed class OverloadGuard : Interceptor, IDisposable
{
    private const string HealthPrefix = "/grpc.health.v1.";
    private static readonly Metadata RetryHint = new() { { "grpc-retry-pushback-ms", "200" } };

    private const long HeapCheckIntervalMs = 50;
    private const long ForcedCollectionIntervalMs = 1000;

    private readonly SemaphoreSlim _calls;
    private readonly long _maxHeapBytes;  // long.MaxValue: no limit
    private readonly Counter<long> _refused;
    private long _nextHeapCheckMs;
    private long _lastSeenCollection = -1;
    private long _lastForcedCollectionMs = long.MinValue / 2;
    private int _checkingHeap;
    private bool _heapOverLimit;

    public OverloadGuard(IOptions<IngestOptions> options, IMeterFactory meterFactory)
    {
        _calls = new SemaphoreSlim(options.Value.MaxConcurrentCalls);
        _maxHeapBytes = options.Value.MaxHeapBytes ?? long.MaxValue;
        _refused = meterFactory.Create(MeterNames.Sidecar).CreateCounter<long>(
            "ml_sidecar_overload_refused", description: "Calls refused with UNAVAILABLE: reason concurrency or memory.");
    }

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (context.Method.StartsWith(HealthPrefix, StringComparison.Ordinal))
        {
            return continuation(request, context);
        }

        try
        {
            Admit();
        }
        catch (RpcException)
        {
            // grpc-dotnet read the request before this runs; a pooled one is a lease the refusal ends.
            (request as IDisposable)?.Dispose();
            throw;
        }

        Task<TResponse> call;
        try
        {
            call = continuation(request, context);
        }
        catch
        {
            _calls.Release();
            throw;
        }

        // Recording completes synchronously: release at once, without an async state machine per call.
        if (call.IsCompleted)
        {
            _calls.Release();
            return call;
        }

        return ReleaseWhenDone(call);
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        if (context.Method.StartsWith("/grpc.", StringComparison.Ordinal))
        {
            await continuation(requestStream, responseStream, context);
            return;
        }

        Admit();
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        finally
        {
            _calls.Release();
        }
    }

    public void Dispose() => _calls.Dispose();

    private async Task<TResponse> ReleaseWhenDone<TResponse>(Task<TResponse> call)
    {
        try
        {
            return await call;
        }
        finally
        {
            _calls.Release();
        }
    }

    /// <summary>
    /// Refuses work while the managed heap is above <c>Monitoring:MaxHeapBytes</c>. Checked per call and, for an
    /// open stream, per batch: a stream admitted when memory was low must not keep filling it. The batch that is
    /// refused was not answered, so the client sends it again after the hint.
    /// </summary>
    public void EnsureHeapBelowLimit()
    {
        if (_maxHeapBytes == long.MaxValue)
        {
            return;
        }

        if (Environment.TickCount64 >= Volatile.Read(ref _nextHeapCheckMs))
        {
            CheckHeap();
        }

        if (Volatile.Read(ref _heapOverLimit))
        {
            _refused.Add(1, new KeyValuePair<string, object?>("reason", "memory"));
            throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "overloaded: memory above Monitoring:MaxHeapBytes; retry later"), RetryHint);
        }
    }

    /// <summary>
    /// Judges the heap at most every <see cref="HeapCheckIntervalMs"/>. The allocated total counts garbage too.
    /// Above the limit, what the last collection left is the next judge, but only if that collection happened since
    /// the previous check: ingest allocates little garbage, so collections can be seconds apart while the shared state
    /// grows in the large-object heap, and an old figure would admit far past the limit. Otherwise a full collection
    /// (at most one per <see cref="ForcedCollectionIntervalMs"/>) tells what is really held, and only that refuses calls.
    /// </summary>
    private void CheckHeap()
    {
        if (Interlocked.Exchange(ref _checkingHeap, 1) == 1)
        {
            return;
        }

        try
        {
            var now = Environment.TickCount64;
            var lastCollection = GC.GetGCMemoryInfo();
            var recent = lastCollection.Index != _lastSeenCollection;
            _lastSeenCollection = lastCollection.Index;
            if (GC.GetTotalMemory(forceFullCollection: false) <= _maxHeapBytes
                || (recent && lastCollection.HeapSizeBytes - lastCollection.FragmentedBytes <= _maxHeapBytes))
            {
                Volatile.Write(ref _heapOverLimit, false);
            }
            else if (now - _lastForcedCollectionMs >= ForcedCollectionIntervalMs)
            {
                GC.Collect();
                _lastForcedCollectionMs = now;
                _lastSeenCollection = GC.GetGCMemoryInfo().Index;
                Volatile.Write(ref _heapOverLimit, GC.GetTotalMemory(forceFullCollection: false) > _maxHeapBytes);
            }
            else
            {
                // Held above the limit as of the last collection: refuse until a full one says otherwise.
                Volatile.Write(ref _heapOverLimit, true);
            }

            Volatile.Write(ref _nextHeapCheckMs, now + HeapCheckIntervalMs);
        }
        finally
        {
            Volatile.Write(ref _checkingHeap, 0);
        }
    }

    private void Admit()
    {
        EnsureHeapBelowLimit();
        if (!_calls.Wait(0))
        {
            _refused.Add(1, new KeyValuePair<string, object?>("reason", "concurrency"));
            throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "overloaded: Monitoring:MaxConcurrentCalls calls in progress; retry later"), RetryHint);
        }
    }
}
