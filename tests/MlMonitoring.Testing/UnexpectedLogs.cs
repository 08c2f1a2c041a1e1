using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace MlMonitoring.Testing;

/// <summary>One log entry at warning level or above.</summary>
public sealed record WarningLog(LogLevel Level, string Category, string Message)
{
    public override string ToString() => $"{Level} {Category}: {Message}";
}

/// <summary>
/// Fails a test whose sidecar logged a warning or an error it did not expect, as grpc-dotnet's functional tests do:
/// a swallowed exception or a misbehaving component shows in the logs long before it shows in a figure. A test that
/// provokes a warning (a store taken down, a hung exporter) names it by a fragment of its category or message.
/// </summary>
public sealed partial class UnexpectedLogs
{
    private readonly List<WarningLog> _entries = [];

    /// <summary>Fragments of the category or message of the warnings and errors this test provokes.</summary>
    public List<string> Expected { get; } = [];

    public IReadOnlyList<WarningLog> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public void Add(WarningLog entry)
    {
        lock (_entries)
        {
            _entries.Add(entry);
        }
    }

    /// <summary>Reads the warnings out of a process's console log ("warn: Category[id]" then the indented message).</summary>
    public void AddFromConsole(string output)
    {
        var lines = output.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var header = ConsoleHeader().Match(lines[i]);
            if (!header.Success)
            {
                continue;
            }

            var message = new List<string>();
            for (var j = i + 1; j < lines.Length && lines[j].StartsWith("      ", StringComparison.Ordinal); j++)
            {
                message.Add(lines[j].Trim());
            }

            var level = header.Groups[1].Value switch
            {
                "warn" => LogLevel.Warning,
                "fail" => LogLevel.Error,
                _ => LogLevel.Critical,
            };
            Add(new WarningLog(level, header.Groups[2].Value, string.Join(' ', message)));
        }
    }

    /// <summary>Throws when a warning or error was logged that no fragment of <see cref="Expected"/> explains.</summary>
    public void ThrowIfAny()
    {
        var unexpected = Entries
            .Where(e => !Expected.Any(fragment =>
                e.Category.Contains(fragment, StringComparison.Ordinal) || e.Message.Contains(fragment, StringComparison.Ordinal)))
            .ToList();
        if (unexpected.Count > 0)
        {
            throw new Xunit.Sdk.XunitException(
                $"The sidecar logged {unexpected.Count} unexpected warning(s) or error(s):\n{string.Join('\n', unexpected)}");
        }
    }

    [GeneratedRegex(@"^(warn|fail|crit): ([^\[]+)\[")]
    private static partial Regex ConsoleHeader();

    /// <summary>An in-process logger provider feeding a collection.</summary>
    public sealed class Provider(UnexpectedLogs logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(logs, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(UnexpectedLogs logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    var message = formatter(state, exception);
                    logs.Add(new WarningLog(logLevel, category, exception is null ? message : $"{message} {exception.GetType().Name}: {exception.Message}"));
                }
            }
        }
    }
}
