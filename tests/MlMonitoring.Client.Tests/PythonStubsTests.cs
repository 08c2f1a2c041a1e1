
namespace MlMonitoring.Client.Tests;

[Trait("Parts", "Real")]
public sealed class PythonStubsTests
{
    [Fact]
    public async Task The_python_clients_stubs_are_those_protoc_generates_from_the_contract()
    {
        var output = Directory.CreateTempSubdirectory("mlmon-stubs-").FullName;
        var protoc = ExternalProcess.Require("protoc", "protobuf-compiler");
        var plugin = ExternalProcess.Require("grpc_python_plugin", "protobuf-compiler-grpc");

        var (exitCode, log) = await ExternalProcess.RunAsync(protoc,
        [
            $"-I{Repository.PathOf("protos")}", $"--python_out={output}", $"--grpc_python_out={output}",
            $"--plugin=protoc-gen-grpc_python={plugin}", Repository.PathOf("protos", "mlmonitoring", "v1", "monitoring.proto"),
        ]);

        Assert.True(exitCode == 0, log);
        foreach (var stub in new[] { "monitoring_pb2.py", "monitoring_pb2_grpc.py" })
        {
            var committed = Repository.PathOf("clients", "python", "mlmonitoring", "v1", stub);
            Assert.True(
                File.ReadAllText(committed) == File.ReadAllText(Path.Combine(output, "mlmonitoring", "v1", stub)),
                $"{committed} is stale: regenerate with protoc -I protos --python_out=clients/python --grpc_python_out=clients/python "
                + "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin protos/mlmonitoring/v1/monitoring.proto");
        }
    }
}
