using System.Globalization;
using System.Net;
using System.Net.Sockets;
using MlMonitoring.Sidecar.Core;
using MlMonitoring.Sidecar.SharedState;

namespace MlMonitoring.Sidecar.Hosting;

/// <summary>
/// Reads the settings before anything is bound to them and names every mistake in one line: a value the binder
/// could not convert (which would otherwise end the start in an unhandled exception that names neither the value
/// nor what is accepted), a key that is no setting (which the binder ignores), an endpoint URL that is no URL, a
/// port already taken, an SQLite file that cannot be opened. A list setting given as one comma-separated value
/// is turned into the indexed keys the binder reads; a setting given under its former name is read under its
/// current one.
/// </summary>
internal static class SettingsCheck
{
    /// <summary>What the check found.</summary>
    /// <param name="Errors">One line per mistake.</param>
    /// <param name="Rewritten">
    /// Keys for the binder to read besides those given: the indexed items of list settings given with commas, and
    /// settings given under their former names, under their current ones.
    /// </param>
    /// <param name="Renamed">The settings given under a former name.</param>
    internal sealed record Result(IReadOnlyList<string> Errors, IReadOnlyDictionary<string, string?> Rewritten, IReadOnlyList<RenamedSetting> Renamed);

    /// <summary>Checks <paramref name="configuration"/> before anything is bound to it.</summary>
    public static Result Check(IConfiguration configuration)
    {
        var errors = new List<string>();
        var rewritten = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var renamed = new List<RenamedSetting>();
        foreach (var (key, value) in configuration.GetSection(MonitoringOptions.SectionName).AsEnumerable())
        {
            // A section (the parent of other keys) reads as an empty value where a source holds it as a key.
            if (value is null || (value.Length == 0 && configuration.GetSection(key).GetChildren().Any()))
            {
                continue;
            }

            var (setting, index) = SettingsSchema.Find(key);
            if (setting is null && SettingsSchema.Renamed.TryGetValue(key, out var current))
            {
                var ignored = configuration[current] is not null;
                renamed.Add(new RenamedSetting(key, current, ignored));
                if (!ignored)
                {
                    rewritten[current] = value;
                }

                (setting, index) = SettingsSchema.Find(current);
            }

            if (setting is null)
            {
                errors.Add(SettingsSchema.Nearest(key) is { } nearest
                    ? $"{key}: no such setting; did you mean {nearest}? (see docs/configuration.md)"
                    : $"{key}: no such setting (see docs/configuration.md)");
                continue;
            }

            if (setting.Kind.IsList && index is null && value.Length > 0)
            {
                // The natural way to give a list in one variable: "a,b,c".
                var items = value.Split(',', StringSplitOptions.TrimEntries);
                for (var i = 0; i < items.Length; i++)
                {
                    if (Problem(setting.Kind.Item, items[i]) is { } itemProblem)
                    {
                        errors.Add($"{key}: '{value}': item {i + 1}, '{items[i]}', {itemProblem}");
                    }

                    rewritten[$"{key}:{i.ToString(CultureInfo.InvariantCulture)}"] = items[i];
                }

                continue;
            }

            if (!(setting.Kind.IsList && value.Length == 0) && Problem(setting.Kind.IsList ? setting.Kind.Item : setting.Kind, value) is { } problem)
            {
                errors.Add($"{key}: '{value}' {problem}");
            }
        }

        CheckEndpoints(configuration, errors, probePorts: false);
        CheckSqlitePath(key => configuration[key] ?? rewritten.GetValueOrDefault(key), renamed, errors);
        return new Result(errors, rewritten, renamed);
    }

    /// <summary>
    /// The endpoints whose port another process holds, one line each. Run once the endpoints are final (the tap
    /// adds its own) and only when Kestrel will bind them: the host's own report of a port in use is a stack trace.
    /// </summary>
    public static IReadOnlyList<string> CheckPorts(IConfiguration configuration)
    {
        var errors = new List<string>();
        CheckEndpoints(configuration, errors, probePorts: true);
        return errors;
    }

    /// <summary>Writes each mistake on a line of its own to stderr; the exit code of a refused start.</summary>
    public static int Refuse(IReadOnlyList<string> errors)
    {
        foreach (var error in errors)
        {
            Console.Error.WriteLine($"error: {error}");
        }

        return 1;
    }

    /// <summary>Whether the host listens through Kestrel (not an in-process test server, whose ports are never bound).</summary>
    public static bool UsesKestrel(IServiceProvider services) =>
        services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>()?.GetType().FullName?.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) == true;

    /// <summary>What is wrong with <paramref name="value"/> for a setting of <paramref name="kind"/>; null when nothing.</summary>
    private static string? Problem(SettingKind kind, string value) => kind.Type switch
    {
        SettingType.Bool when !bool.TryParse(value, out _) => "is not true or false",
        SettingType.Integer when !long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) => "is not a whole number",
        SettingType.Number when !double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) => "is not a number",
        SettingType.Duration when !TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _) => "is not a duration; write [d.]hh:mm:ss[.fff], e.g. 00:05:00 for five minutes",
        SettingType.Choice when !kind.Choices.Contains(value, StringComparer.OrdinalIgnoreCase) => $"is not one of {string.Join(", ", kind.Choices)}",
        SettingType.Text or SettingType.Bool or SettingType.Integer or SettingType.Number or SettingType.Duration or SettingType.Choice => null,
        _ => null,
    };

    /// <summary>Every Kestrel endpoint's URL is an http URL with a host and a port, free to bind.</summary>
    private static void CheckEndpoints(IConfiguration configuration, List<string> errors, bool probePorts)
    {
        foreach (var endpoint in configuration.GetSection("Kestrel:Endpoints").GetChildren())
        {
            var key = $"Kestrel:Endpoints:{endpoint.Key}:Url";
            var url = endpoint["Url"];
            if (url is null)
            {
                continue;
            }

            // Kestrel takes "*" and "+" for every address; Uri does not.
            var parsable = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
            if (!Uri.TryCreate(parsable, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0
                || !parsable.AsSpan(uri.Scheme.Length).StartsWith("://", StringComparison.Ordinal))
            {
                errors.Add($"{key}: '{url}' is not a URL like http://127.0.0.1:50051");
                continue;
            }

            if (probePorts && uri.Port > 0 && AddressOf(uri.Host) is { } address && InUse(new IPEndPoint(address, uri.Port)) is { } reason)
            {
                errors.Add($"{key}: cannot listen on {url}: {reason}");
            }
        }
    }

    private static IPAddress? AddressOf(string host) => host switch
    {
        "localhost" => IPAddress.Loopback,
        _ when IPAddress.TryParse(host.Trim('[', ']'), out var address) => address,
        _ => null, // a name Kestrel resolves itself; it reports what goes wrong
    };

    /// <summary>Why the port cannot be listened on, or null. The socket is closed at once: Kestrel binds it next.</summary>
    private static string? InUse(IPEndPoint endpoint)
    {
        try
        {
            using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            // As Kestrel does, so that a port in TIME_WAIT from a previous run does not count as taken.
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            socket.Bind(endpoint);
            socket.Listen();
            return null;
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            return "the port is already in use by another process";
        }
        catch (SocketException e)
        {
            return e.Message;
        }
    }

    private static void CheckSqlitePath(Func<string, string?> setting, List<RenamedSetting> renamed, List<string> errors)
    {
        const string Section = SharedStateOptions.SectionName;
        if (!string.Equals(setting($"{Section}:{nameof(SharedStateOptions.Store)}"), nameof(SharedStateStoreKind.Sqlite), StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        var current = $"{Section}:{nameof(SharedStateOptions.SqlitePath)}";
        var path = setting(current) ?? new SharedStateOptions().SqlitePath;
        // The line names the key as the user wrote it.
        var key = renamed.FirstOrDefault(r => r.Key == current && !r.Ignored)?.FormerKey ?? current;
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (Directory.Exists(path))
        {
            errors.Add($"{key}: '{path}' is a folder; name a file in it");
        }
        else if (folder is not null && !Directory.Exists(folder))
        {
            errors.Add($"{key}: cannot open '{path}': the folder '{folder}' does not exist");
        }
        else
        {
            try
            {
                // Opened for writing, as SQLite will, and left as it was.
                using var probe = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                var created = probe.Length == 0;
                probe.Dispose();
                if (created)
                {
                    File.Delete(path);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{key}: cannot open '{path}' for writing: {e.Message}");
            }
        }
    }
}
