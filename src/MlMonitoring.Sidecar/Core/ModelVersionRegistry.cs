using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace MlMonitoring.Sidecar.Core;

/// <summary>
/// Finds the <see cref="ModelVersionState"/> of a (model_name, model_version), creating it on first sight within the
/// model and version limits; past them, the <c>__other__</c> model or version takes the event.
/// </summary>
internal sealed class ModelVersionRegistry
{
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, ModelVersionState>> _models =
        new(StringComparer.Ordinal);
    private readonly SeriesLimiter _limiter;
    private readonly TimeSpan _featureWindow;
    private readonly TimeSpan _statusWindow;
    private readonly Lock _growth = new();

    private readonly double[] _latencyBoundaries;

    public ModelVersionRegistry(IOptions<MonitoringOptions> options, SidecarMetrics selfMetrics, LatencyBoundaries? latency = null)
    {
        _latencyBoundaries = (latency ?? new LatencyBoundaries()).Values;
        _limiter = new SeriesLimiter(options.Value.Limits, selfMetrics);
        _featureWindow = options.Value.FeatureWindow;
        _statusWindow = options.Value.StatusWindow;
    }

    /// <summary>The versions seen of a model, without creating anything.</summary>
    public IReadOnlyCollection<ModelVersionState> VersionsOf(string modelName) =>
        _models.TryGetValue(modelName, out var versions) ? [.. versions.Values] : [];

    /// <summary>The series of a model version. An empty version is reported as <c>unknown</c>.</summary>
    public ModelVersionState Get(string modelName, string modelVersion)
    {
        if (modelVersion.Length == 0)
        {
            modelVersion = LabelNames.UnknownVersion;
        }

        if (_models.TryGetValue(modelName, out var versions) && versions.TryGetValue(modelVersion, out var series))
        {
            return series;
        }

        return GetOrAdd(modelName, modelVersion);
    }

    /// <summary>
    /// The model version a request names, for the calls that ask about one (status, baseline pinning). The version
    /// may be left out when the model has only one. Fails with the gRPC status and the field at fault.
    /// </summary>
    public ModelVersionState Resolve(string modelName, string modelVersion)
    {
        if (modelName.Length == 0)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument, "model_name: required"));
        }

        var versions = VersionsOf(modelName);
        if (versions.Count == 0)
        {
            throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound, $"model_name: no events seen for model '{modelName}'"));
        }

        if (modelVersion.Length == 0)
        {
            return versions.Count == 1
                ? versions.First()
                : throw new RpcException(new Grpc.Core.Status(StatusCode.InvalidArgument,
                    $"model_version: required, model '{modelName}' has versions {string.Join(", ", versions.Select(v => v.ModelVersion).Order(StringComparer.Ordinal))}"));
        }

        return versions.FirstOrDefault(v => v.ModelVersion == modelVersion)
            ?? throw new RpcException(new Grpc.Core.Status(StatusCode.NotFound,
                $"model_version: no events seen for version '{modelVersion}' of model '{modelName}'"));
    }

    /// <summary>Every model version seen so far.</summary>
    public IEnumerable<ModelVersionState> All => _models.Values.SelectMany(versions => versions.Values);

    private ModelVersionState GetOrAdd(string modelName, string modelVersion)
    {
        lock (_growth)
        {
            if (!_models.TryGetValue(modelName, out var versions))
            {
                if (_models.Count >= _limiter.Limits.MaxModels)
                {
                    _limiter.CountOverflow(SeriesLimit.Models);
                    modelName = LabelNames.Overflow;
                    modelVersion = LabelNames.Overflow;
                    versions = _models.GetOrAdd(modelName, _ => new(StringComparer.Ordinal));
                }
                else
                {
                    versions = _models[modelName] = new(StringComparer.Ordinal);
                }
            }

            if (versions.TryGetValue(modelVersion, out var series))
            {
                return series;
            }

            if (versions.Count >= _limiter.Limits.MaxVersionsPerModel)
            {
                _limiter.CountOverflow(SeriesLimit.Versions);
                return versions.GetOrAdd(LabelNames.Overflow, version => Create(modelName, version));
            }

            return versions[modelVersion] = Create(modelName, modelVersion);
        }
    }

    private ModelVersionState Create(string modelName, string modelVersion) =>
        new(modelName, modelVersion, _limiter, _featureWindow, new TrafficWindow(_statusWindow, _latencyBoundaries));
}
