namespace Gateway.Core.Resilience;

/// <summary>How a request was let through a provider's circuit; reported back with the attempt's result.</summary>
internal enum Admission
{
    /// <summary>The circuit is closed: normal traffic.</summary>
    Closed,

    /// <summary>The cooldown is over and this request is the one probe of the half-open circuit.</summary>
    Probe,

    /// <summary>The circuit is open, but no other target was left: tried anyway rather than failing with no attempt.</summary>
    Forced,
}

/// <summary>
/// The circuit breaker and rate-limit cooldown of one provider, shared by every request and kept across config
/// reloads. Lock-free: a few interlocked fields, written only when the state actually changes, so a healthy
/// provider's requests never contend on a cache line.
/// </summary>
/// <remarks>
/// Closed → (failure_threshold consecutive failures, or a 429 with Retry-After) → open for cooldown → one probe
/// request (half-open; the others still go elsewhere) → success closes, failure re-opens. Time is
/// <see cref="TimeProvider"/> timestamps so tests can move it.
/// </remarks>
internal sealed class ProviderHealth
{
    private readonly TimeProvider _time;
    private int _consecutiveFailures;
    private long _openUntil;
    private long _lastFailure;
    private int _probeInFlight;
    // Set while another replica may hold the half-open probe of a shared opening (see State/SharedBreakers).
    private int _probeHeldElsewhere;

    public ProviderHealth(string name, TimeProvider time)
    {
        Name = name;
        _time = time;
    }

    public string Name { get; }

    /// <summary>How long a model that refused a prefill is not asked to continue a stream again.</summary>
    public static readonly TimeSpan PrefillRejectionMemory = TimeSpan.FromMinutes(10);

    // Models of this provider that refused a prefill, until when. Touched only when a continuation is attempted.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _prefillRejectedUntil = new(StringComparer.Ordinal);

    /// <summary>The model refused a prefill within <see cref="PrefillRejectionMemory"/>: do not ask it to continue.</summary>
    public bool RefusesPrefill(string model) =>
        _prefillRejectedUntil.TryGetValue(model, out var until) && _time.GetTimestamp() < until;

    /// <summary>The model answered a continuation with a 400/422: remember it for <see cref="PrefillRejectionMemory"/>.</summary>
    public void RememberPrefillRefused(string model) =>
        _prefillRejectedUntil[model] = _time.GetTimestamp() + (long)(PrefillRejectionMemory.TotalSeconds * _time.TimestampFrequency);

    /// <summary>Open, or half-open with its probe in flight: requests should go elsewhere if they can.</summary>
    public bool IsAvailable
    {
        get
        {
            long openUntil = Volatile.Read(ref _openUntil);
            return openUntil == 0
                || (_time.GetTimestamp() >= openUntil && Volatile.Read(ref _probeInFlight) == 0 && Volatile.Read(ref _probeHeldElsewhere) == 0);
        }
    }

    /// <summary>The time left before the circuit lets a probe through; zero when closed or already due.</summary>
    public TimeSpan RemainingCooldown
    {
        get
        {
            long openUntil = Volatile.Read(ref _openUntil);
            return openUntil == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(0, _time.GetElapsedTime(_time.GetTimestamp(), openUntil).Ticks));
        }
    }

    /// <summary>When the last failure happened (a timestamp; 0 = never): the longest-ago failed is forced first.</summary>
    public long LastFailure => Volatile.Read(ref _lastFailure);

    /// <summary>Lets a request through if the circuit allows it now (closed, or the half-open probe slot is free).</summary>
    public bool TryAdmit(out Admission admission)
    {
        admission = Admission.Closed;
        long openUntil = Volatile.Read(ref _openUntil);
        if (openUntil == 0)
        {
            return true;
        }
        if (_time.GetTimestamp() < openUntil || Volatile.Read(ref _probeHeldElsewhere) != 0 || Interlocked.CompareExchange(ref _probeInFlight, 1, 0) != 0)
        {
            return false;
        }
        admission = Admission.Probe;
        return true;
    }

    public void ReportSuccess(Admission admission)
    {
        if (admission == Admission.Probe)
        {
            Shared?.Closed(Name);
        }
        if (Volatile.Read(ref _consecutiveFailures) != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }
        if (Volatile.Read(ref _openUntil) != 0)
        {
            Volatile.Write(ref _openUntil, 0);
        }
        Release(admission);
    }

    /// <returns>True when this failure opened (or re-opened) the circuit.</returns>
    public bool ReportFailure(Admission admission, int threshold, TimeSpan cooldown)
    {
        long now = _time.GetTimestamp();
        Volatile.Write(ref _lastFailure, now);
        bool open = Interlocked.Increment(ref _consecutiveFailures) >= threshold || admission == Admission.Probe;
        if (open)
        {
            Volatile.Write(ref _openUntil, now + ToTimestampTicks(cooldown));
        }
        Release(admission);
        return open;
    }

    /// <summary>A 429 with Retry-After: the provider is cooled for that long (capped), without counting as a failure.</summary>
    public void ReportRateLimited(Admission admission, TimeSpan retryAfter, TimeSpan cap)
    {
        long now = _time.GetTimestamp();
        Volatile.Write(ref _lastFailure, now);
        var cool = retryAfter < cap ? retryAfter : cap;
        Volatile.Write(ref _openUntil, now + Math.Max(1, ToTimestampTicks(cool)));
        Release(admission);
    }

    /// <summary>With a shared state: told of the provider's openings and closings by the other replicas.</summary>
    public State.SharedBreakers? Shared { get; set; }

    /// <summary>Whether the circuit is open now (closed: nothing to share).</summary>
    public bool IsOpen => Volatile.Read(ref _openUntil) != 0;

    /// <summary>
    /// Another replica opened the circuit for <paramref name="remaining"/>: extend-only (a shorter opening never
    /// shortens a longer one), and the probe after it waits for this replica to win the shared probe.
    /// </summary>
    public void OpenAtLeast(TimeSpan remaining)
    {
        long until = _time.GetTimestamp() + Math.Max(1, ToTimestampTicks(remaining));
        long current = Volatile.Read(ref _openUntil);
        while (until > current)
        {
            long seen = Interlocked.CompareExchange(ref _openUntil, until, current);
            if (seen == current)
            {
                break;
            }
            current = seen;
        }
        Volatile.Write(ref _probeHeldElsewhere, 1);
    }

    /// <summary>Whether this replica may send the half-open probe once the opening is over (false: another one does).</summary>
    public void HoldProbe(bool elsewhere) => Volatile.Write(ref _probeHeldElsewhere, elsewhere ? 1 : 0);

    /// <summary>Another replica's probe succeeded: closed here too.</summary>
    public void CloseShared()
    {
        Volatile.Write(ref _probeHeldElsewhere, 0);
        Volatile.Write(ref _consecutiveFailures, 0);
        Volatile.Write(ref _openUntil, 0);
    }

    /// <summary>The attempt ended without telling anything about the provider (the client left): frees the probe slot.</summary>
    public void Release(Admission admission)
    {
        if (admission == Admission.Probe)
        {
            Volatile.Write(ref _probeInFlight, 0);
        }
    }

    private long ToTimestampTicks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);
}
