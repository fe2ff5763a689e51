using System.Collections;
using System.Diagnostics;

namespace Gateway.Server.Tests.Infrastructure;

/// <summary>
/// Where the in-memory trace exporter puts spans. The SDK exports from its own threads, and every gateway of the
/// test process exports through the same process-wide source, so each access is locked; waiting is on a signal.
/// </summary>
public sealed class ExportedSpanCollection : ICollection<Activity>
{
    private readonly List<Activity> _spans = [];
    private readonly List<(ActivityTraceId TraceId, int Count, TaskCompletionSource Signal)> _waiters = [];

    public int Count
    {
        get
        {
            lock (_spans)
            {
                return _spans.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    public void Add(Activity item)
    {
        lock (_spans)
        {
            _spans.Add(item);
            for (int i = _waiters.Count - 1; i >= 0; i--)
            {
                if (CountOf(_waiters[i].TraceId) >= _waiters[i].Count)
                {
                    _waiters[i].Signal.TrySetResult();
                    _waiters.RemoveAt(i);
                }
            }
        }
    }

    /// <summary>The spans exported so far (a copy).</summary>
    public List<Activity> Snapshot()
    {
        lock (_spans)
        {
            return [.. _spans];
        }
    }

    /// <summary>The spans of one trace once at least <paramref name="count"/> of them were exported (they are exported as they end).</summary>
    public async Task<List<Activity>> WaitForAsync(ActivityTraceId traceId, int count, TimeSpan timeout)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_spans)
        {
            if (CountOf(traceId) >= count)
            {
                signal.TrySetResult();
            }
            else
            {
                _waiters.Add((traceId, count, signal));
            }
        }
        await signal.Task.WaitAsync(timeout);
        return Snapshot().Where(a => a.TraceId == traceId).ToList();
    }

    private int CountOf(ActivityTraceId traceId)
    {
        int count = 0;
        foreach (var span in _spans)
        {
            if (span.TraceId == traceId)
            {
                count++;
            }
        }
        return count;
    }

    public void Clear()
    {
        lock (_spans)
        {
            _spans.Clear();
        }
    }

    public bool Contains(Activity item)
    {
        lock (_spans)
        {
            return _spans.Contains(item);
        }
    }

    public void CopyTo(Activity[] array, int arrayIndex)
    {
        lock (_spans)
        {
            _spans.CopyTo(array, arrayIndex);
        }
    }

    public bool Remove(Activity item)
    {
        lock (_spans)
        {
            return _spans.Remove(item);
        }
    }

    public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
