using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.Hosting;
using MlMonitoring.Sidecar.Tests.Infrastructure;

namespace MlMonitoring.Sidecar.Tests.Hosting;

/// <summary>
/// Configuration mistakes as a user makes them, through the shipped executable: each stops the start with exit 1
/// and one line that names the setting, the value given and what is accepted, and no stack trace.
/// </summary>
[Trait("Parts", "Real")]
public sealed class SettingsErrorTests
{
    [Theory]
    [InlineData("Monitoring__SharedState__Store", "redsi", "Monitoring:SharedState:Store: 'redsi' is not one of Memory, Sqlite, Redis")]
    [InlineData("Monitoring__Tap__Protocol", "OpenInferenc", "Monitoring:Tap:Protocol: 'OpenInferenc' is not one of Auto, OpenInference, KServeV1, OpenAi")]
    [InlineData("Monitoring__FeatureWindow", "5m", "Monitoring:FeatureWindow: '5m' is not a duration; write [d.]hh:mm:ss[.fff], e.g. 00:05:00 for five minutes")]
    [InlineData("Monitoring__MaxBatchSize", "lots", "Monitoring:MaxBatchSize: 'lots' is not a whole number")]
    [InlineData("Monitoring__Drift__Enabled", "yes", "Monitoring:Drift:Enabled: 'yes' is not true or false")]
    [InlineData("Monitoring__RegressionBuckets", "1,five,10", "Monitoring:RegressionBuckets: '1,five,10': item 2, 'five', is not a number")]
    [InlineData("Monitoring__Limits__MaxModel", "20", "Monitoring:Limits:MaxModel: no such setting; did you mean Monitoring:Limits:MaxModels? (see docs/configuration.md)")]
    [InlineData("Monitoring__Tap__Models__iris__ClassName", "a", "Monitoring:Tap:Models:iris:ClassName: no such setting; did you mean Monitoring:Tap:Models:iris:ClassNames? (see docs/configuration.md)")]
    [InlineData("Kestrel__Endpoints__Grpc__Url", "htp:/127.0.0.1:50061", "Kestrel:Endpoints:Grpc:Url: 'htp:/127.0.0.1:50061' is not a URL like http://127.0.0.1:50051")]
    public async Task A_mistaken_setting_stops_the_start_with_exit_1_and_one_line_naming_it(string key, string value, string line)
    {
        var (exitCode, output) = await RunAsync(new Dictionary<string, string> { [key] = value });

        Assert.Equal(1, exitCode);
        Assert.Equal("error: " + line, output.Trim());
    }

    [Fact]
    public async Task An_sqlite_file_that_cannot_be_opened_is_named_with_its_setting()
    {
        var (exitCode, output) = await RunAsync(new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "sqlite",
            ["Monitoring__SharedState__SqlitePath"] = "/nonexistent-mlmon/join.db",
        });

        Assert.Equal(1, exitCode);
        Assert.Equal("error: Monitoring:SharedState:SqlitePath: cannot open '/nonexistent-mlmon/join.db': the folder '/nonexistent-mlmon' does not exist", output.Trim());
    }

    [Fact]
    public async Task A_port_in_use_is_named_with_its_endpoint_setting()
    {
        using var occupied = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        occupied.Start();
        var port = ((System.Net.IPEndPoint)occupied.LocalEndpoint).Port;

        var (exitCode, output) = await RunAsync(new Dictionary<string, string> { ["Kestrel__Endpoints__Grpc__Url"] = $"http://127.0.0.1:{port}" });

        Assert.Equal(1, exitCode);
        Assert.Equal($"error: Kestrel:Endpoints:Grpc:Url: cannot listen on http://127.0.0.1:{port}: the port is already in use by another process", output.Trim());
    }

    [Fact]
    public async Task Every_mistake_is_named_at_once()
    {
        var (exitCode, output) = await RunAsync(new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "redsi",
            ["Monitoring__FeatureWindow"] = "5m",
        });

        Assert.Equal(1, exitCode);
        Assert.Equal(2, output.Trim().Split('\n').Length);
    }

    [Fact]
    public async Task Help_prints_usage_and_exits_0_without_listening()
    {
        // The default ports may be taken (another sidecar): --help must not need them.
        var (exitCode, output) = await ExternalProcess.RunAsync(SidecarProcess.Executable, ["--help"]);

        Assert.Equal(0, exitCode);
        Assert.StartsWith("Usage: MlMonitoring.Sidecar", output, StringComparison.Ordinal);
        Assert.Contains("slo generate", output, StringComparison.Ordinal);
        Assert.Contains("Monitoring__", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_the_version_and_exits_0()
    {
        var (exitCode, output) = await ExternalProcess.RunAsync(SidecarProcess.Executable, ["--version"]);

        Assert.Equal(0, exitCode);
        Assert.Matches(@"^MlMonitoring\.Sidecar \d+\.\d+\.\d+", output.Trim());
    }

    [Fact]
    public async Task A_list_setting_given_as_one_comma_separated_value_is_read_as_its_items()
    {
        using var sidecar = new SidecarFactory(("Monitoring:RegressionBuckets", "1, 5,10"));
        var client = sidecar.CreateMonitorClient();

        await client.RecordPredictionsAsync(Events.Batch(Events.Regressed("price", "v1", 3)));

        var metrics = await sidecar.ScrapeAsync();
        var buckets = metrics.All("ml_prediction_value_bucket").Where(s => s.Labels["model_name"] == "price");
        Assert.Equal(["1", "5", "10", "+Inf"], buckets.Select(s => s.Labels["le"]));
        Assert.Equal([0.0, 1, 1, 1], buckets.Select(s => s.Value));
    }

    [Fact]
    public async Task An_unreachable_redis_is_named_at_start_and_the_sidecar_serves_with_the_store_degraded()
    {
        var port = FreePort.Next();
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__SharedState__Store"] = "redis",
            ["Monitoring__SharedState__RedisConfiguration"] = $"127.0.0.1:{port},connectTimeout=500,password=secret",
        });
        sidecar.Logs.Expected.AddRange(["does not answer", "Could not load drift baselines"]);

        Assert.Contains(
            $"Monitoring:SharedState:RedisConfiguration: 127.0.0.1:{port},connectTimeout=500,password=*****,abortConnect=False does not answer (no connection within 500 ms); starting anyway",
            sidecar.Output,
            StringComparison.Ordinal);
        Assert.DoesNotContain("secret", sidecar.Output, StringComparison.Ordinal);
        var readiness = await sidecar.Http.GetStringAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Contains("shared-state: Degraded", readiness, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_start_says_what_is_on_one_line_each()
    {
        var upstream = FreePort.Next();
        var listen = FreePort.Next();
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__Tap__Listen"] = $"http://127.0.0.1:{listen}",
            ["Monitoring__Tap__Upstream"] = $"http://127.0.0.1:{upstream}",
            ["Monitoring__Tap__Models__iris__ClassNames"] = "setosa,versicolor,virginica",
            ["Monitoring__Tap__Models__iris__ProbabilitiesOutput"] = "probabilities",
            ["Monitoring__Limits__MaxModels"] = "20",
        });

        string[] lines = [.. sidecar.Output.Split('\n').Select(l => l.Trim())];
        Assert.Contains($"Ingest (gRPC) on http://127.0.0.1:{sidecar.GrpcPort}; /metrics, /healthz and /readyz on http://127.0.0.1:{sidecar.HttpPort}", lines);
        Assert.Contains("Shared state (labels, baselines, handed-over windows): memory (this process only)", lines);
        Assert.Contains($"Tap: HTTP http://127.0.0.1:{listen} -> http://127.0.0.1:{upstream}, gRPC - -> -, protocol Auto; mappings: iris: probabilities probabilities, class names setosa,versicolor,virginica", lines);
        Assert.Contains(lines, l => l.StartsWith("Settings given: ", StringComparison.Ordinal) && l.Contains("Monitoring:Limits:MaxModels=20", StringComparison.Ordinal));
        Assert.Contains("OTLP metric export off (no OTEL_EXPORTER_OTLP_ENDPOINT); metrics are served on /metrics", lines);
        // Run bare, without the variables an image could set: the collector's settings are compiled in.
        Assert.Contains("Garbage collector: ConcurrentGC=True, GCConserveMem=5, GCRegionSize=1048576, GCGen0MaxBudget=6291456", lines);
    }

    [Fact]
    public async Task A_setting_given_under_its_former_name_is_read_under_its_new_one_with_a_warning()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("mlmon-renamed-").FullName, "shared.db");
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__GroundTruth__Store"] = "sqlite",
            ["Monitoring__GroundTruth__SqlitePath"] = path,
        });
        sidecar.Logs.Expected.Add("is a former name of");

        Assert.Contains("Monitoring:GroundTruth:Store is a former name of Monitoring:SharedState:Store, read as such", sidecar.Output, StringComparison.Ordinal);
        Assert.Contains("Monitoring:GroundTruth:SqlitePath is a former name of Monitoring:SharedState:SqlitePath, read as such", sidecar.Output, StringComparison.Ordinal);
        Assert.Contains($"Shared state (labels, baselines, handed-over windows): sqlite, file {path}", sidecar.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_former_name_given_beside_the_new_one_is_ignored_and_said_so()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new Dictionary<string, string>
        {
            ["Monitoring__GroundTruth__Store"] = "sqlite",
            ["Monitoring__SharedState__Store"] = "memory",
        });
        sidecar.Logs.Expected.Add("is ignored");

        Assert.Contains("Monitoring:GroundTruth:Store is ignored: it is a former name of Monitoring:SharedState:Store, which is given too", sidecar.Output, StringComparison.Ordinal);
        Assert.Contains("Shared state (labels, baselines, handed-over windows): memory (this process only)", sidecar.Output, StringComparison.Ordinal);
    }

    /// <summary>
    /// The schema the check reads names every option the sidecar binds, and nothing else. The options classes are
    /// found as the capabilities declare them, by their <c>SectionName</c>, so that a new one cannot be left out.
    /// </summary>
    [Fact]
    public void The_settings_schema_names_every_option_and_no_other()
    {
        var optionsClasses = typeof(MonitoringOptions).Assembly.GetTypes()
            .Select(type => (Type: type, Section: type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
            .Where(options => options.Section is not null && options.Type.Name.EndsWith("Options", StringComparison.Ordinal))
            .ToList();
        var fromOptions = new List<string>();
        foreach (var (type, section) in optionsClasses)
        {
            Collect(type, section!, fromOptions);
        }

        Assert.Equal(13, optionsClasses.Count);
        Assert.Equal(fromOptions.Order(StringComparer.Ordinal), SettingsSchema.All.Select(s => s.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_capabilitys_options_are_bound_and_validated_together_at_start()
    {
        var declared = typeof(MonitoringOptions).Assembly.GetTypes()
            .Where(type => type.Name.EndsWith("Options", StringComparison.Ordinal) && type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is not null)
            .Select(type => type.FullName)
            .Order(StringComparer.Ordinal);
        using var sidecar = new SidecarFactory();

        var validated = sidecar.Services.GetServices<ValidatedSettings>().Select(settings => settings.OptionsType.FullName).Order(StringComparer.Ordinal);

        Assert.Equal(declared, validated);
    }

    [Fact]
    public void The_configuration_page_names_every_setting_and_no_other()
    {
        // The page's table: each row's first cell names its settings; <model> stands for any model's name.
        var documented = File.ReadAllLines(Repository.PathOf("docs", "configuration.md"))
            .Where(line => line.StartsWith("| `", StringComparison.Ordinal))
            .SelectMany(line => System.Text.RegularExpressions.Regex.Matches(line.Split('|')[1], "`(Monitoring:[^`]+)`").Select(m => m.Groups[1].Value))
            .Select(key => key.Replace("<model>", "*", StringComparison.Ordinal))
            .ToList();

        Assert.Equal(SettingsSchema.All.Select(s => s.Key).Order(StringComparer.Ordinal), documented.Order(StringComparer.Ordinal));
    }

    private static void Collect(Type type, string prefix, List<string> keys)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var key = $"{prefix}:{property.Name}";
            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (propertyType.IsGenericType && propertyType.GetGenericTypeDefinition() == typeof(Dictionary<,>))
            {
                Collect(propertyType.GetGenericArguments()[1], key + ":*", keys);
            }
            else if (propertyType.IsClass && propertyType != typeof(string) && !propertyType.IsArray)
            {
                Collect(propertyType, key, keys);
            }
            else
            {
                keys.Add(key);
            }
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(Dictionary<string, string> settings)
    {
        // Free ports, unless the test names its own endpoint.
        settings.TryAdd("Kestrel__Endpoints__Grpc__Url", $"http://127.0.0.1:{FreePort.Next()}");
        settings.TryAdd("Kestrel__Endpoints__Http__Url", $"http://127.0.0.1:{FreePort.Next()}");
        await using var process = ExternalProcess.Start(SidecarProcess.Executable, [], settings, workingDirectory: SidecarProcess.WorkingDirectory);
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, process.Output);
    }
}
