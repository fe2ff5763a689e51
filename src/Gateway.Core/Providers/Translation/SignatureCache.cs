namespace Gateway.Core.Providers.Translation;

/// <summary>
/// Provider state an OpenAI client cannot carry between turns — Gemini's <c>thoughtSignature</c> of a function call,
/// Anthropic's signed thinking blocks of a tool-calling turn — kept by the gateway, keyed by the tool-call id the
/// client does carry, and given back on the next turn. Bounded (oldest entries go first, <c>translation.state_cache_entries</c>)
/// and expiring (<c>translation.state_cache_ttl</c>); a miss degrades as the provider documents (Gemini's placeholder
/// signature; Anthropic thinking left out for that request), never fails the request. Per process: with several
/// replicas a next turn may land elsewhere and miss. One per process (like a memory cache): a reload resizes it.
/// </summary>
internal sealed class SignatureCache
{
    public const int DefaultEntries = 10_000;
    public static readonly TimeSpan DefaultTimeToLive = TimeSpan.FromHours(1);

    public static readonly SignatureCache Shared = new(DefaultEntries, DefaultTimeToLive, TimeProvider.System);

    private readonly Dictionary<string, (string Signature, long Expires)> _entries = new(StringComparer.Ordinal);
    private readonly Queue<string> _order = new();
    private int _capacity;
    private TimeSpan _timeToLive;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    public SignatureCache(int capacity, TimeSpan timeToLive, TimeProvider time)
    {
        _capacity = capacity;
        _timeToLive = timeToLive;
        _time = time;
    }

    /// <summary>Applies a config revision's size and time to live (entries over the new size go, oldest first).</summary>
    public void Configure(int capacity, TimeSpan timeToLive)
    {
        lock (_lock)
        {
            _capacity = capacity;
            _timeToLive = timeToLive;
            while (_entries.Count > _capacity && _order.TryDequeue(out var oldest))
            {
                _entries.Remove(oldest);
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>With a shared state: every entry this replica learns is sent to the others (see State/SharedState).</summary>
    public Action<string, string>? Replicate { get; set; }

    public void Remember(string id, string signature)
    {
        Accept(id, signature);
        Replicate?.Invoke(id, signature);
    }

    /// <summary>An entry another replica learned: kept like this replica's own, not sent on.</summary>
    public void Accept(string id, string signature)
    {
        lock (_lock)
        {
            long expires = _time.GetTimestamp() + (long)(_timeToLive.TotalSeconds * _time.TimestampFrequency);
            if (!_entries.ContainsKey(id))
            {
                _order.Enqueue(id);
            }
            _entries[id] = (signature, expires);
            while (_entries.Count > _capacity && _order.TryDequeue(out var oldest))
            {
                _entries.Remove(oldest);
            }
        }
    }

    public string? Find(string? id)
    {
        if (string.IsNullOrEmpty(id))
        {
            return null;
        }
        lock (_lock)
        {
            return _entries.TryGetValue(id, out var entry) && entry.Expires > _time.GetTimestamp() ? entry.Signature : null;
        }
    }
}
