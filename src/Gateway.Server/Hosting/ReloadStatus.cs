namespace Gateway.Server.Hosting;

/// <summary>What the config reloads did, for /readyz and the logs: counts by result and the last failure.</summary>
internal sealed class ReloadStatus
{
    private long _succeeded;
    private long _failed;

    public long Succeeded => Interlocked.Read(ref _succeeded);

    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>The errors of the last failed reload (key path and line each), or null when the last one succeeded.</summary>
    public string? LastError { get; private set; }

    public DateTimeOffset? LastAttempt { get; private set; }

    public void RecordSuccess(DateTimeOffset at)
    {
        Interlocked.Increment(ref _succeeded);
        LastError = null;
        LastAttempt = at;
    }

    public void RecordFailure(DateTimeOffset at, string error)
    {
        Interlocked.Increment(ref _failed);
        LastError = error;
        LastAttempt = at;
    }
}
