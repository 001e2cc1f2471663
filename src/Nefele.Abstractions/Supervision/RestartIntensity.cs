namespace Nefele.Supervision;

/// <summary>
/// OTP's restart intensity: at most MaxR restarts within MaxT seconds, counted on monotonic
/// timestamps (<see cref="TimeProvider.GetTimestamp"/>), so a wall-clock jump neither forgives nor
/// condemns a supervisor. A pure function of the timestamps it was given.
/// </summary>
public sealed class RestartIntensity(int maxRestarts, TimeSpan period, TimeProvider time)
{
    private readonly List<long> _restarts = [];

    /// <summary>The restarts inside the window as of the last one added, oldest first.</summary>
    public IReadOnlyList<long> Timestamps => _restarts;

    /// <summary>Records a restart now; false when that takes the supervisor past its intensity (it must give up).</summary>
    public bool Add() => Add(time.GetTimestamp());

    /// <summary>Records a restart at <paramref name="timestamp"/> (monotonic); false when that is one restart too many.</summary>
    public bool Add(long timestamp)
    {
        _restarts.Add(timestamp);
        _restarts.RemoveAll(t => time.GetElapsedTime(t, timestamp) >= period);
        return _restarts.Count <= maxRestarts;
    }

    /// <summary>Takes over restarts recorded by an earlier run, given as how long ago each was.</summary>
    public void Restore(IEnumerable<TimeSpan> agos)
    {
        var now = time.GetTimestamp();
        foreach (var ago in agos.Where(a => a < period).OrderByDescending(a => a))
        {
            _restarts.Add(now - (long)(Math.Max(ago.TotalSeconds, 0) * time.TimestampFrequency));
        }
    }
}
