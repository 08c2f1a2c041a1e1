using System.Globalization;
using System.Text.Json;

namespace MlMonitoring.Testing;

/// <summary>One series of a PromQL instant-query result.</summary>
public sealed record PromSeries(IReadOnlyDictionary<string, string> Labels, double Value);

/// <summary>
/// A real Prometheus server (Debian's <c>prometheus</c> package) in a temporary directory, scraping the given
/// targets every second; queried through its HTTP API.
/// </summary>
public sealed class PrometheusServer : IAsyncDisposable
{
    private readonly ExternalProcess _process;
    private readonly string _directory;
    private readonly HttpClient _http;

    private PrometheusServer(ExternalProcess process, string directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
    }

    public int Port { get; }

    public string Output => _process.Output;

    /// <summary>Starts Prometheus scraping <paramref name="targets"/> (host:port) every second.</summary>
    /// <param name="extraConfig">YAML appended at the top level of the configuration, such as rule_files.</param>
    public static async Task<PrometheusServer> StartAsync(IEnumerable<string> targets, string extraConfig = "")
    {
        var binary = ExternalProcess.Require("prometheus", "prometheus");
        var directory = Directory.CreateTempSubdirectory("mlmon-prometheus-").FullName;
        var port = FreePort.Next();
        var config = $"""
            global:
              scrape_interval: 1s
              scrape_timeout: 900ms
              evaluation_interval: 1s
            scrape_configs:
              - job_name: sidecar
                static_configs:
                  - targets: [{string.Join(", ", targets.Select(t => $"'{t}'"))}]
            {extraConfig}
            """;
        var configFile = Path.Combine(directory, "prometheus.yml");
        await File.WriteAllTextAsync(configFile, config);
        var process = ExternalProcess.Start(binary,
        [
            $"--config.file={configFile}",
            $"--storage.tsdb.path={Path.Combine(directory, "data")}",
            $"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ]);
        var server = new PrometheusServer(process, directory, port);
        await process.WaitUntilReadyAsync(new Uri($"http://127.0.0.1:{port}/-/ready"), "prometheus", TimeSpan.FromSeconds(60));
        return server;
    }

    /// <summary>
    /// Evaluates an instant query now, or at <paramref name="at"/> (several queries compared with each other must
    /// see the same samples); fails the test with Prometheus' error when it is not valid.
    /// </summary>
    public async Task<IReadOnlyList<PromSeries>> QueryAsync(string promql, DateTimeOffset? at = null)
    {
        var time = at is { } t ? $"&time={t.ToUnixTimeMilliseconds() / 1000.0:0.000}" : "";
        var query = new Uri($"/api/v1/query?query={Uri.EscapeDataString(promql)}{time}", UriKind.Relative);
        using var response = await _http.GetAsync(query);
        var body = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        if (root.GetProperty("status").GetString() != "success")
        {
            throw new Xunit.Sdk.XunitException($"query failed: {promql}\n{body}");
        }

        var data = root.GetProperty("data");
        var resultType = data.GetProperty("resultType").GetString();
        if (resultType == "scalar")
        {
            return [new PromSeries(new Dictionary<string, string>(), ParseValue(data.GetProperty("result")))];
        }

        return [.. data.GetProperty("result").EnumerateArray().Select(series => new PromSeries(
            series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? ""),
            ParseValue(series.GetProperty("value"))))];
    }

    /// <summary>The scrape state of every target: health ("up"), last error and the time of the last scrape.</summary>
    public async Task<IReadOnlyList<(string Health, string LastError, DateTimeOffset LastScrape)>> TargetsAsync()
    {
        var body = await _http.GetStringAsync(new Uri("/api/v1/targets", UriKind.Relative));
        using var document = JsonDocument.Parse(body);
        return [.. document.RootElement.GetProperty("data").GetProperty("activeTargets").EnumerateArray().Select(t => (
            t.GetProperty("health").GetString() ?? "",
            t.GetProperty("lastError").GetString() ?? "",
            DateTimeOffset.Parse(t.GetProperty("lastScrape").GetString() ?? "", CultureInfo.InvariantCulture)))];
    }

    /// <summary>
    /// Returns once every target has been scraped again after this call, and all are up (or, with
    /// <paramref name="targetsDown"/>, that many are down: replicas stopped on purpose).
    /// </summary>
    public async Task WaitForNextScrapeAsync(int targetsDown = 0)
    {
        var before = (await TargetsAsync()).Select(t => t.LastScrape).ToArray();
        if (before.Length == 0)
        {
            // Prometheus lists its targets only once the scrape loop has started.
            await WaitForTargetsAsync();
            before = [.. (await TargetsAsync()).Select(t => t.LastScrape)];
        }

        bool AllScrapedAgain(IReadOnlyList<(string Health, string LastError, DateTimeOffset LastScrape)> now) => now.Count == before.Length && now.Select((t, i) => t.LastScrape > before[i]).All(x => x);
        var targets = await Eventually.UntilAsync(TargetsAsync, AllScrapedAgain, TimeSpan.FromSeconds(30));
        if (!AllScrapedAgain(targets))
        {
            throw new TimeoutException($"no scrape within 30 s\n{_process.Output}");
        }

        var failed = targets.Where(t => t.Health != "up").ToList();
        if (failed.Count != targetsDown)
        {
            throw new Xunit.Sdk.XunitException($"scrape failed: {string.Join("; ", failed.Select(t => t.LastError))}");
        }
    }

    private async Task WaitForTargetsAsync()
    {
        await Eventually.WaitAsync(async () => (await TargetsAsync()).Count > 0, TimeSpan.FromSeconds(30), () => $"prometheus listing its targets\n{_process.Output}");
    }

    /// <summary>The value of a query that must return exactly one series.</summary>
    public async Task<double> QueryOneAsync(string promql, DateTimeOffset at) => Assert.Single(await QueryAsync(promql, at)).Value;

    /// <summary>
    /// Waits until <paramref name="promql"/> (one series) equals <paramref name="expected"/> after a scrape of every
    /// target and two rule evaluations; returns the time to read every rule at, so that all saw the same samples.
    /// <paramref name="targetsDown"/> targets are expected down (replicas stopped on purpose).
    /// </summary>
    public async Task<DateTimeOffset> WaitForRulesAsync(string promql, double expected, int targetsDown = 0)
    {
        static bool Expected(IReadOnlyList<PromSeries> result, double expected) =>
            result.Count == 1 && result[0].Value == expected;
        var (at, result) = await Eventually.UntilAsync(
            async () =>
            {
                await WaitForNextScrapeAsync(targetsDown);
                await Task.Delay(TimeSpan.FromSeconds(2.5));
                var at = DateTimeOffset.UtcNow.AddSeconds(-0.5);
                return (at, await QueryAsync(promql, at));
            },
            read => Expected(read.Item2, expected),
            TimeSpan.FromSeconds(60),
            TimeSpan.Zero);
        return Expected(result, expected)
            ? at
            : throw new TimeoutException($"{promql} = {string.Join(", ", result.Select(r => r.Value))}, not {expected}");
    }

    /// <summary>The firing alerts of a name, once there is one (or none after 30 s).</summary>
    public async Task<IReadOnlyList<(string Name, string State, IReadOnlyDictionary<string, string> Labels)>> WaitForFiringAsync(string alertName)
    {
        return await Eventually.UntilAsync(
            async () => (IReadOnlyList<(string Name, string State, IReadOnlyDictionary<string, string> Labels)>)[.. (await AlertsAsync()).Where(a => a.Name == alertName && a.State == "firing")],
            firing => firing.Count > 0,
            TimeSpan.FromSeconds(30),
            TimeSpan.FromMilliseconds(250));
    }

    /// <summary>Alerts and their state ("pending", "firing") as Prometheus reports them.</summary>
    public async Task<IReadOnlyList<(string Name, string State, IReadOnlyDictionary<string, string> Labels)>> AlertsAsync()
    {
        var body = await _http.GetStringAsync(new Uri("/api/v1/alerts", UriKind.Relative));
        using var document = JsonDocument.Parse(body);
        return [.. document.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray().Select(a =>
        {
            var labels = a.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            return (labels["alertname"], a.GetProperty("state").GetString() ?? "", (IReadOnlyDictionary<string, string>)labels);
        })];
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _process.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Prometheus may still be closing its files; the temporary directory is not worth failing a test over.
        }
    }

    private static double ParseValue(JsonElement pair) =>
        double.Parse(pair[1].GetString() ?? "NaN", CultureInfo.InvariantCulture);

}
