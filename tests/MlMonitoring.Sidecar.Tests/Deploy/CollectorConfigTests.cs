using YamlDotNet.RepresentationModel;

namespace MlMonitoring.Sidecar.Tests.Deploy;

public sealed class CollectorConfigTests
{
    private static readonly YamlMappingNode Config = Load();

    [Fact]
    public void Every_pipeline_references_defined_components_with_memory_limiter_first_and_batch()
    {
        var pipelines = Map(Map(Config, "service"), "pipelines");
        Assert.Equal(["metrics/otlp", "metrics/scrape"], pipelines.Children.Keys.Select(k => ((YamlScalarNode)k).Value));
        foreach (var (name, node) in pipelines.Children)
        {
            var pipeline = (YamlMappingNode)node;
            foreach (var kind in new[] { "receivers", "processors", "exporters" })
            {
                var defined = Map(Config, kind).Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet();
                var used = Names(pipeline, kind);
                Assert.NotEmpty(used);
                Assert.All(used, component => Assert.True(defined.Contains(component), $"{name}: {kind} '{component}' is not defined"));
            }

            var processors = Names(pipeline, "processors");
            Assert.Equal("memory_limiter", processors[0]);
            Assert.Contains("batch", processors);
        }

        var extensions = Map(Config, "extensions").Children.Keys.Select(k => ((YamlScalarNode)k).Value).ToHashSet();
        Assert.All(Names(Map(Config, "service"), "extensions"), e => Assert.Contains(e, extensions));
    }

    [Fact]
    public void Remote_write_derives_the_prometheus_names_the_dashboards_use()
    {
        var remoteWrite = Map(Map(Config, "exporters"), "prometheusremotewrite");

        Assert.Equal("true", ((YamlScalarNode)remoteWrite.Children[new YamlScalarNode("add_metric_suffixes")]).Value);
    }

    private static List<string?> Names(YamlMappingNode node, string key) =>
        [.. ((YamlSequenceNode)node.Children[new YamlScalarNode(key)]).Select(n => ((YamlScalarNode)n).Value)];

    private static YamlMappingNode Map(YamlMappingNode node, string key) => (YamlMappingNode)node.Children[new YamlScalarNode(key)];

    private static YamlMappingNode Load()
    {
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(Repository.PathOf("otel-collector", "config.yaml"))));
        return (YamlMappingNode)yaml.Documents[0].RootNode;
    }
}
