using YamlDotNet.RepresentationModel;

namespace MlMonitoring.Sidecar.Tests.Deploy;

/// <summary>The kustomize base of k8s/, rendered by kubectl as a user would, and its copies of monitoring/.</summary>
[Trait("Parts", "Real")]
public sealed class KubernetesManifestTests
{
    [Fact]
    public async Task The_copies_of_monitoring_in_k8s_generated_are_up_to_date()
    {
        var fresh = Directory.CreateTempSubdirectory("mlmon-k8s-").FullName;

        var (exitCode, output) = await ExternalProcess.RunAsync("bash", [Repository.PathOf("k8s", "sync-from-monitoring.sh"), fresh]);

        Assert.True(exitCode == 0, output);
        foreach (var file in Directory.GetFiles(fresh))
        {
            var committed = Repository.PathOf("k8s", "generated", Path.GetFileName(file));
            Assert.True(File.Exists(committed) && File.ReadAllText(committed) == File.ReadAllText(file),
                $"k8s/generated/{Path.GetFileName(file)} is stale: run k8s/sync-from-monitoring.sh");
        }
    }

    [Fact]
    public async Task Kustomize_renders_a_pod_with_the_native_sidecar_its_probes_and_a_restricted_security_context()
    {
        var documents = await RenderAsync();
        var deployment = Single(documents, "Deployment", "fraud-detector");
        var pod = Map(Map(Map(deployment, "spec"), "template"), "spec");
        var sidecar = Seq(pod, "initContainers").Cast<YamlMappingNode>().Single(c => Text(c, "name") == "mlmonitoring-sidecar");

        Assert.Equal("Always", Text(sidecar, "restartPolicy"));
        Assert.Equal("/readyz", Text(Map(Map(sidecar, "startupProbe"), "httpGet"), "path"));
        Assert.Equal("50051", Text(Map(Map(sidecar, "readinessProbe"), "grpc"), "port"));
        Assert.Equal("/healthz", Text(Map(Map(sidecar, "livenessProbe"), "httpGet"), "path"));
        var security = Map(sidecar, "securityContext");
        Assert.Equal("true", Text(security, "runAsNonRoot"));
        Assert.Equal("true", Text(security, "readOnlyRootFilesystem"));
        Assert.Equal("false", Text(security, "allowPrivilegeEscalation"));
        Assert.Equal(["ALL"], Seq(Map(security, "capabilities"), "drop").Select(n => ((YamlScalarNode)n).Value));
        Assert.Equal("RuntimeDefault", Text(Map(security, "seccompProfile"), "type"));
        var resources = Map(sidecar, "resources");
        Assert.All(new[] { "requests", "limits" }, kind => Assert.All(new[] { "cpu", "memory" }, r => Assert.NotNull(Text(Map(resources, kind), r))));
        var tmp = Seq(sidecar, "volumeMounts").Cast<YamlMappingNode>().Single(m => Text(m, "mountPath") == "/tmp");
        var volume = Seq(pod, "volumes").Cast<YamlMappingNode>().Single(v => Text(v, "name") == Text(tmp, "name"));
        Assert.True(volume.Children.ContainsKey(new YamlScalarNode("emptyDir")));
        // The ingest endpoint stays on the pod's loopback; the settings and SLOs come from ConfigMaps.
        var env = Seq(sidecar, "env").Cast<YamlMappingNode>().ToDictionary(e => Text(e, "name")!, e => Text(e, "value"));
        Assert.Equal("http://127.0.0.1:50051", env["Kestrel__Endpoints__Grpc__Url"]);
        var settings = Text(Map((YamlMappingNode)Seq(sidecar, "envFrom")[0], "configMapRef"), "name");
        Assert.StartsWith("mlmonitoring-sidecar-settings-", settings, StringComparison.Ordinal);
        Assert.Contains(documents, d => Text(d, "kind") == "ConfigMap" && Text(Map(d, "metadata"), "name") == settings);
    }

    [Fact]
    public async Task Kustomize_renders_the_metrics_service_pod_monitor_rules_dashboard_and_slo_config()
    {
        var documents = await RenderAsync();

        var service = Single(documents, "Service", "fraud-detector-metrics");
        Assert.Equal("metrics", Text((YamlMappingNode)Seq(Map(service, "spec"), "ports")[0], "name"));
        var podMonitor = Single(documents, "PodMonitor");
        Assert.Equal("metrics", Text((YamlMappingNode)Seq(Map(podMonitor, "spec"), "podMetricsEndpoints")[0], "port"));
        var rules = Single(documents, "PrometheusRule");
        var alertNames = Seq(Map(rules, "spec"), "groups").Cast<YamlMappingNode>()
            .SelectMany(g => Seq(g, "rules").Cast<YamlMappingNode>()).Select(r => Text(r, "alert")).Where(a => a is not null).ToHashSet();
        Assert.Superset(
            new HashSet<string?> { "MLModelHighLatency", "MLModelHighErrorRate", "MLModelPredictionSkew", "MLModelLowConfidence", "MLModelDown", "MLModelErrorBudgetBurn", "MLModelAccuracyLow", "MLModelSLOBurnRateCritical" },
            alertNames);
        var configMaps = documents.Where(d => Text(d, "kind") == "ConfigMap").ToList();
        var dashboard = configMaps.Single(c => Text(Map(c, "metadata"), "name") == "mlmonitoring-dashboard");
        Assert.Equal("1", Text(Map(Map(dashboard, "metadata"), "labels"), "grafana_dashboard"));
        Assert.Equal(File.ReadAllText(Repository.PathOf("monitoring", "grafana", "ml-model-monitoring.json")), Text(Map(dashboard, "data"), "ml-model-monitoring.json"));
        var slo = configMaps.Single(c => Text(Map(c, "metadata"), "name")!.StartsWith("mlmonitoring-slo", StringComparison.Ordinal));
        Assert.Equal(File.ReadAllText(Repository.PathOf("monitoring", "slo", "slo.yaml")), Text(Map(slo, "data"), "slo.yaml"));
    }

    [Fact]
    public async Task Kustomize_renders_the_replicas_with_the_redis_they_share_for_joins()
    {
        var documents = await RenderAsync();

        var model = Single(documents, "Deployment", "fraud-detector");
        Assert.True(int.Parse(Text(Map(model, "spec"), "replicas")!, System.Globalization.CultureInfo.InvariantCulture) > 1);
        var redis = Single(documents, "Deployment", "mlmonitoring-redis");
        var container = Seq(Map(Map(Map(redis, "spec"), "template"), "spec"), "containers").Cast<YamlMappingNode>().Single();
        Assert.Contains("noeviction", Seq(container, "args").Select(a => ((YamlScalarNode)a).Value));
        var service = Single(documents, "Service", "mlmonitoring-redis");
        Assert.Equal("6379", Text((YamlMappingNode)Seq(Map(service, "spec"), "ports")[0], "port"));
        var settings = documents.Single(d => Text(d, "kind") == "ConfigMap" && Text(Map(d, "metadata"), "name")!.StartsWith("mlmonitoring-sidecar-settings", StringComparison.Ordinal));
        var data = Map(settings, "data");
        Assert.Equal("true", Text(data, "Monitoring__Replicated"));
        Assert.Equal("redis", Text(data, "Monitoring__SharedState__Store"));
        Assert.Equal("mlmonitoring-redis:6379", Text(data, "Monitoring__SharedState__RedisConfiguration"));
    }

    [Fact]
    public async Task Kustomize_renders_an_llm_server_whose_service_port_goes_to_the_tap_in_front_of_it()
    {
        var documents = await RenderAsync();

        var pod = Map(Map(Map(Single(documents, "Deployment", "chat-assistant"), "spec"), "template"), "spec");
        var sidecar = Seq(pod, "initContainers").Cast<YamlMappingNode>().Single(c => Text(c, "name") == "mlmonitoring-sidecar");
        var env = Seq(sidecar, "env").Cast<YamlMappingNode>().ToDictionary(e => Text(e, "name")!, e => Text(e, "value"));
        var tapPort = Seq(sidecar, "ports").Cast<YamlMappingNode>().Single(p => Text(p, "name") == "tap");
        Assert.Equal($"http://0.0.0.0:{Text(tapPort, "containerPort")}", env["Monitoring__Tap__Listen"]);
        // The model server listens on the pod's loopback, where the tap forwards: nothing reaches it around the tap.
        var server = Seq(pod, "containers").Cast<YamlMappingNode>().Single();
        var args = Seq(server, "args").Select(a => ((YamlScalarNode)a).Value).ToList();
        var upstream = new Uri(env["Monitoring__Tap__Upstream"]!);
        Assert.Equal(upstream.Host, args[args.IndexOf("--host") + 1]);
        Assert.Equal(upstream.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), args[args.IndexOf("--port") + 1]);
        Assert.Equal("127.0.0.1", upstream.Host);
        var service = Single(documents, "Service", "chat-assistant");
        var http = Seq(Map(service, "spec"), "ports").Cast<YamlMappingNode>().Single(p => Text(p, "name") == "http");
        Assert.Equal("tap", Text(http, "targetPort"));
        var podMonitor = Single(documents, "PodMonitor");
        var selected = Seq((YamlMappingNode)Seq(Map(Map(podMonitor, "spec"), "selector"), "matchExpressions")[0], "values").Select(v => ((YamlScalarNode)v).Value);
        Assert.Contains("chat-assistant", selected);
    }

    [Fact]
    public void The_dockerfile_builds_in_stages_and_runs_as_a_non_root_user()
    {
        var dockerfile = File.ReadAllLines(Repository.PathOf("Dockerfile"));

        Assert.True(dockerfile.Count(l => l.StartsWith("FROM ", StringComparison.Ordinal)) >= 2);
        var user = dockerfile.Last(l => l.StartsWith("USER ", StringComparison.Ordinal))[5..].Trim();
        Assert.NotEqual("root", user);
        Assert.NotEqual("0", user);
    }

    [Fact]
    public async Task The_sidecar_image_is_named_in_the_kustomization_and_the_build_finds_it_whatever_registry_a_manifest_names()
    {
        // A copy of k8s/ and image/, as a user's fork would be.
        var fork = Directory.CreateTempSubdirectory("mlmon-fork-").FullName;
        foreach (var folder in new[] { "k8s", "image" })
        {
            foreach (var file in Directory.GetFiles(Repository.PathOf(folder), "*", SearchOption.AllDirectories))
            {
                var copy = Path.Combine(fork, folder, Path.GetRelativePath(Repository.PathOf(folder), file));
                Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                File.Copy(file, copy);
            }
        }

        var kustomization = Path.Combine(fork, "k8s", "kustomization.yaml");
        await File.WriteAllTextAsync(kustomization, (await File.ReadAllTextAsync(kustomization))
            .Replace("newName: mlmonitoring/sidecar", "newName: registry.example:5000/ml/mlmonitoring/sidecar", StringComparison.Ordinal)
            .Replace("newTag: 0.1.0", "newTag: 0.2.0", StringComparison.Ordinal));
        var documents = await RenderAsync(Path.Combine(fork, "k8s"));
        var sidecars = documents.Where(d => Text(d, "kind") == "Deployment")
            .Select(d => Map(Map(Map(d, "spec"), "template"), "spec"))
            .Where(pod => pod.Children.ContainsKey(new YamlScalarNode("initContainers")))
            .SelectMany(pod => Seq(pod, "initContainers").Cast<YamlMappingNode>())
            .Where(c => Text(c, "name") == "mlmonitoring-sidecar").ToList();
        Assert.Equal(2, sidecars.Count);
        Assert.All(sidecars, c => Assert.Equal("registry.example:5000/ml/mlmonitoring/sidecar:0.2.0", Text(c, "image")));

        // A manifest edited by hand to name a registry still gives ./build.sh the image to tag.
        var manifest = Path.Combine(fork, "k8s", "model-server.yaml");
        await File.WriteAllTextAsync(manifest, (await File.ReadAllTextAsync(manifest))
            .Replace("image: mlmonitoring/sidecar:0.1.0", "image: registry.example:5000/ml/mlmonitoring/sidecar:0.2.0", StringComparison.Ordinal));
        var (exitCode, named) = await ExternalProcess.RunAsync("bash", ["-c", $"source '{Path.Combine(fork, "image", "shipped.sh")}' && echo \"$shipped_image\""]);
        Assert.Equal(0, exitCode);
        Assert.Equal("registry.example:5000/ml/mlmonitoring/sidecar:0.2.0", named.Trim());
    }

    private static Task<List<YamlMappingNode>> RenderAsync() => RenderAsync(Repository.PathOf("k8s"));

    private static async Task<List<YamlMappingNode>> RenderAsync(string folder)
    {
        var kubectl = ExternalProcess.Require("kubectl", "kubectl (on these machines' images at /usr/bin/kubectl)");
        var (exitCode, output) = await ExternalProcess.RunAsync(kubectl, ["kustomize", folder], separateStderr: true);
        Assert.True(exitCode == 0, output);
        var yaml = new YamlStream();
        yaml.Load(new StringReader(output));
        return [.. yaml.Documents.Select(d => (YamlMappingNode)d.RootNode)];
    }

    private static YamlMappingNode Single(List<YamlMappingNode> documents, string kind) => documents.Single(d => Text(d, "kind") == kind);

    private static YamlMappingNode Single(List<YamlMappingNode> documents, string kind, string name) =>
        documents.Single(d => Text(d, "kind") == kind && Text(Map(d, "metadata"), "name") == name);

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[new YamlScalarNode(key)];

    private static YamlSequenceNode Seq(YamlMappingNode node, string key) => (YamlSequenceNode)node.Children[new YamlScalarNode(key)];

    private static string? Text(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? (value as YamlScalarNode)?.Value : null;
}
