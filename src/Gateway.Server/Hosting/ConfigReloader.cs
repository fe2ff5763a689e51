using System.Runtime.InteropServices;
using Gateway.Core.Config;
using Gateway.Core.Routing;

namespace Gateway.Server.Hosting;

/// <summary>
/// Reloads config.yaml without a restart: on a change of the file or its directory (atomic renames and the
/// symlink swap of a Kubernetes ConfigMap), on SIGHUP, and on POST /admin/reload. A reload validates the whole file
/// first: an invalid one is logged with every error's key path and line and changes nothing; a valid one is built
/// into a complete snapshot (unchanged providers keep their connection pools) and published with one atomic swap.
/// </summary>
internal sealed partial class ConfigReloader : IHostedService, IDisposable
{
    // Editors and ConfigMap updates write in bursts: wait for this much quiet, but never longer than MaxDelay.
    private static readonly TimeSpan s_quiet = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan s_maxDelay = TimeSpan.FromMilliseconds(250);

    private readonly string? _path;
    private readonly EnvironmentExpander _environment;
    private readonly SnapshotHolder _snapshots;
    private readonly SnapshotBuilder _builder;
    private readonly ReloadStatus _status;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _serial = new(1, 1);
    private readonly Lock _debounceLock = new();
    private FileSystemWatcher? _watcher;
    private PosixSignalRegistration? _sighup;
    private ITimer? _debounce;
    private long _burstStarted;
    private string? _lastText;

    private const string FileChange = "file change";

    public ConfigReloader(string? path, EnvironmentExpander environment, SnapshotHolder snapshots, SnapshotBuilder builder, ReloadStatus status, TimeProvider time, ILogger logger)
    {
        _path = path is null ? null : Path.GetFullPath(path);
        _environment = environment;
        _snapshots = snapshots;
        _builder = builder;
        _status = status;
        _time = time;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_path is null)
        {
            return Task.CompletedTask;
        }
        try
        {
            _lastText = File.ReadAllText(_path);
        }
        catch (IOException)
        {
            // Read again on the first change.
        }
        // The directory, not the file: an atomic rename or a symlink swap replaces the file the watcher would hold.
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        _watcher.Changed += OnFileEvent;
        _watcher.Created += OnFileEvent;
        _watcher.Deleted += OnFileEvent;
        _watcher.Renamed += OnFileEvent;
        _watcher.EnableRaisingEvents = true;
        if (!OperatingSystem.IsWindows())
        {
            _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                _ = ReloadAsync("SIGHUP");
            });
        }
        return Task.CompletedTask;
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        // Only the config file itself, or Kubernetes' "..data" links: logs written next to the config are not edits.
        var name = e.Name ?? "";
        var configName = Path.GetFileName(_path);
        if (name != configName && !name.StartsWith("..", StringComparison.Ordinal) && !(e is RenamedEventArgs renamed && renamed.OldName == configName))
        {
            return;
        }
        lock (_debounceLock)
        {
            long now = _time.GetTimestamp();
            if (_debounce is null)
            {
                _burstStarted = now;
                _debounce = _time.CreateTimer(_ => FireDebounced(), null, s_quiet, Timeout.InfiniteTimeSpan);
                return;
            }
            var left = s_maxDelay - _time.GetElapsedTime(_burstStarted, now);
            _debounce.Change(left < s_quiet ? (left > TimeSpan.Zero ? left : TimeSpan.Zero) : s_quiet, Timeout.InfiniteTimeSpan);
        }
    }

    private void FireDebounced()
    {
        lock (_debounceLock)
        {
            _debounce?.Dispose();
            _debounce = null;
        }
        _ = ReloadAsync(FileChange);
    }

    /// <summary>Reads, validates and publishes the config file; one reload at a time.</summary>
    /// <returns>Null on success, else the errors (one per line).</returns>
    public async Task<string?> ReloadAsync(string trigger)
    {
        if (_path is null)
        {
            return "the gateway was started without a config file";
        }
        await _serial.WaitAsync();
        try
        {
            string text = await File.ReadAllTextAsync(_path);
            if (trigger == FileChange && text == _lastText)
            {
                // Touched or rewritten with the same content: nothing to do (SIGHUP and the admin endpoint still reload,
                // since the environment behind ${VAR} may have changed).
                return null;
            }
            _lastText = text;
            var load = ConfigLoader.Parse(text, _environment);
            if (load.Config is not { } config)
            {
                var errors = string.Join("\n", load.Errors.Select(e => e.ToString()));
                _status.RecordFailure(_time.GetUtcNow(), errors);
                LogReloadFailed(_logger, trigger, load.Errors.Count, errors.Replace("\n", "; ", StringComparison.Ordinal));
                return errors;
            }
            var previous = _snapshots.Current;
            var diff = ConfigDiff.Describe(previous.Config, config);
            var next = _builder.Build(config, previous);
            _snapshots.Publish(next);
            _status.RecordSuccess(_time.GetUtcNow());
            LogReloaded(_logger, trigger, next.Revision, diff);
            foreach (var warning in ConfigDiff.RestartOnly(previous.Config, config))
            {
                LogNeedsRestart(_logger, warning);
            }
            foreach (var warning in ConfigDiff.Warnings(config))
            {
                LogReloadWarning(_logger, warning);
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _status.RecordFailure(_time.GetUtcNow(), e.Message);
            LogReloadFailed(_logger, trigger, 1, e.Message);
            return e.Message;
        }
        finally
        {
            _serial.Release();
        }
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _watcher = null;
        _sighup?.Dispose();
        _sighup = null;
        lock (_debounceLock)
        {
            _debounce?.Dispose();
            _debounce = null;
        }
    }

    [LoggerMessage(200, LogLevel.Information, "config reloaded ({Trigger}), revision {Revision}: {Diff}")]
    private static partial void LogReloaded(ILogger logger, string trigger, long revision, string diff);

    [LoggerMessage(203, LogLevel.Warning, "config reload: {Warning}")]
    private static partial void LogReloadWarning(ILogger logger, string warning);

    // Warning, not Error: a rejected file is an operator's mistake the gateway handled (Error means a gateway bug).
    [LoggerMessage(201, LogLevel.Warning, "config reload ({Trigger}) rejected, the previous config keeps serving: {Count} error(s): {Errors}")]
    private static partial void LogReloadFailed(ILogger logger, string trigger, int count, string errors);

    [LoggerMessage(202, LogLevel.Warning, "config reload: {Change} takes effect only after a restart")]
    private static partial void LogNeedsRestart(ILogger logger, string change);
}
