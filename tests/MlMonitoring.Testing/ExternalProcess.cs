using System.Diagnostics;
using System.Text;

namespace MlMonitoring.Testing;

/// <summary>A child process whose output is kept for the failure message and which is killed on dispose.</summary>
public sealed class ExternalProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ExternalProcess(Process process)
    {
        _process = process;
    }

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int Id => _process.Id;

    public static ExternalProcess Start(string fileName, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? workingDirectory = null, bool captureStderr = true)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var process = new Process { StartInfo = info };
        var started = new ExternalProcess(process);
        process.OutputDataReceived += (_, e) => started.Append(e.Data);
        if (captureStderr)
        {
            process.ErrorDataReceived += (_, e) => started.Append(e.Data);
        }

        process.Start();
        process.BeginOutputReadLine();
        if (captureStderr)
        {
            process.BeginErrorReadLine();
        }
        return started;
    }

    /// <summary>Finds an executable on PATH, or fails the test saying how to install it.</summary>
    public static string Require(string name, string package)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Append("/usr/bin").Append("/usr/sbin"))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new Xunit.Sdk.XunitException(
            $"'{name}' is not installed. The README's test command installs it: apt-get install -y {package}");
    }

    /// <summary>Runs a command to its end with <paramref name="input"/> on its stdin; returns its exit code and output.</summary>
    /// <param name="separateStderr">Return stdout alone when the command succeeds (stderr is kept for failures).</param>
    /// <param name="environment">Variables added to the command's environment.</param>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string fileName, IEnumerable<string> arguments, string input = "", bool separateStderr = false, string? workingDirectory = null,
        IDictionary<string, string>? environment = null)
    {
        await using var process = Start(fileName, arguments, environment, workingDirectory, captureStderr: !separateStderr);
        await process._process.StandardInput.WriteAsync(input);
        process._process.StandardInput.Close();
        var stderr = separateStderr ? process._process.StandardError.ReadToEndAsync() : Task.FromResult("");
        await process._process.WaitForExitAsync();
        // WaitForExitAsync also waits for the redirected streams to reach their end.
        var exitCode = process._process.ExitCode;
        return (exitCode, exitCode == 0 || !separateStderr ? process.Output : process.Output + await stderr);
    }

    /// <summary>Waits for the process to end by itself; kills it past the timeout.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        return _process.ExitCode;
    }

    /// <summary>Polls <paramref name="url"/> until it answers 2xx; fails with the process's output if it exits or times out.</summary>
    public async Task WaitUntilReadyAsync(Uri url, string what, TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        async Task<bool> Ready()
        {
            if (HasExited)
            {
                // HasExited turns true before the redirected streams are read to their end; a native executable
                // that stops at once can exit before its last lines are delivered, so wait for them first.
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"{what} exited during start:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync(url);
                return response.IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false; // not listening yet
            }
        }

        await Eventually.WaitAsync(Ready, timeout, () => $"{what} ready:\n{Output}", TimeSpan.FromMilliseconds(100));
    }

    /// <summary>Sends SIGTERM, as Kubernetes does, and waits for the exit.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
