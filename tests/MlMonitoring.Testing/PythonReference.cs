using System.Text.Json;
using System.Text.Json.Nodes;

namespace MlMonitoring.Testing;

/// <summary>
/// Runs a reference computation with Debian's Python (<c>/usr/bin/python3</c> and its scikit-learn, numpy and
/// scipy packages): the independent implementation the sidecar's statistics are compared with.
/// </summary>
public static class PythonReference
{
    public const string Interpreter = "/usr/bin/python3";

    public static async Task<JsonNode> RunAsync(string script, object input)
    {
        if (!File.Exists(Interpreter))
        {
            throw new Xunit.Sdk.XunitException($"{Interpreter} is missing. The README's test command installs it: apt-get install -y python3 python3-sklearn");
        }

        var path = Path.Combine(AppContext.BaseDirectory, "Reference", script);
        var (exitCode, output) = await ExternalProcess.RunAsync(Interpreter, [path], JsonSerializer.Serialize(input), separateStderr: true);
        if (exitCode != 0)
        {
            throw new Xunit.Sdk.XunitException($"{script} failed (exit {exitCode}); is python3-sklearn installed? (apt-get install -y python3-sklearn)\n{output}");
        }

        return JsonNode.Parse(output) ?? throw new Xunit.Sdk.XunitException($"{script} printed nothing");
    }
}
