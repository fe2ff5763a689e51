using System.Collections.Concurrent;

namespace Gateway.Server.Tests.Infrastructure;

/// <summary>Captures every log line the gateway writes (message and exception), for assertions and the canary scan.</summary>
public sealed class LogCollector : ILoggerProvider
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly List<(Func<string, bool> Match, TaskCompletionSource Signal)> _waiters = [];

    public IReadOnlyCollection<string> Lines => _lines;

    public string All => string.Join('\n', _lines);

    public ILogger CreateLogger(string categoryName) => new Collector(this, categoryName);

    /// <summary>Completes when a line matching <paramref name="match"/> has been logged (a signal, not a poll).</summary>
    public Task WaitForAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_waiters)
        {
            if (_lines.Any(match))
            {
                return Task.CompletedTask;
            }
            _waiters.Add((match, signal));
        }
        return signal.Task.WaitAsync(timeout);
    }

    /// <summary>Counts the lines containing <paramref name="text"/>.</summary>
    public int Count(string text) => _lines.Count(line => line.Contains(text, StringComparison.Ordinal));

    private void Add(string line)
    {
        lock (_waiters)
        {
            _lines.Enqueue(line);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Match(line))
                {
                    _waiters[i].Signal.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    public void Dispose() { }

    private sealed class Collector(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add($"{logLevel} {category}: {formatter(state, exception)} {exception}");
    }
}
