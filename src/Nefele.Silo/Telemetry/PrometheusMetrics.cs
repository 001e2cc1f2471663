using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Text;

namespace Nefele.Silo.Telemetry;

/// <summary>
/// Aggregates the measurements of every instrument of the "Nefele.*" meters in this process,
/// for the Prometheus scrape endpoint. Counters are cumulative sums, UpDownCounters and gauges
/// are gauges, histograms have fixed explicit buckets. Measurements arrive on many threads;
/// each series takes its own lock, and a scrape reads a consistent snapshot of each series.
/// Listening starts before any hosted service (the silo included) starts.
/// </summary>
internal sealed class PrometheusMetrics : IHostedLifecycleService, IDisposable
{
    public const string MeterPrefix = "Nefele.";

    /// <summary>Bucket bounds, in seconds, for a histogram with unit "s": half a millisecond to ten seconds.</summary>
    public static readonly double[] SecondsBuckets = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

    /// <summary>Bounds for any other histogram without advice (OpenTelemetry's defaults).</summary>
    public static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    /// <summary>Label sets beyond this many in one family go to a single overflow series.</summary>
    public const int MaxSeriesPerFamily = 2000;

    private readonly ConcurrentDictionary<string, Family> _families = new(StringComparer.Ordinal);
    private readonly MeterListener _listener;
    private readonly ILogger<PrometheusMetrics> _logger;
    private int _started;

    public PrometheusMetrics(ILogger<PrometheusMetrics> logger)
    {
        _logger = logger;
        _listener = new MeterListener
        {
            InstrumentPublished = OnInstrumentPublished,
            MeasurementsCompleted = static (_, state) => (state as Family)?.Completed(),
        };
        _listener.SetMeasurementEventCallback<double>(static (_, m, tags, state) => Record(state, m, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, m, tags, state) => Record(state, m, tags));
        _listener.SetMeasurementEventCallback<long>(static (_, m, tags, state) => Record(state, m, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, m, tags, state) => Record(state, m, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, m, tags, state) => Record(state, m, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, m, tags, state) => Record(state, m, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, m, tags, state) => Record(state, (double)m, tags));
    }

    /// <summary>Starts listening (idempotent); instruments created before this are picked up too.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _listener.Start();
        }
    }

    /// <summary>Observes the observable instruments, then writes every family that has a series.</summary>
    public void WriteTo(StringBuilder text)
    {
        try
        {
            _listener.RecordObservableInstruments();
        }
        catch (AggregateException e)
        {
            _logger.LogWarning(e, "An observable instrument's callback failed during a metrics scrape");
        }

        foreach (var family in _families.Values.OrderBy(f => f.Name, StringComparer.Ordinal))
        {
            family.WriteTo(text);
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        Start();
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Start();
        return Task.CompletedTask;
    }

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _listener.Dispose();

    private static void Record(object? state, double measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags) =>
        (state as Family)?.Record(measurement, tags);

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!instrument.Meter.Name.StartsWith(MeterPrefix, StringComparison.Ordinal) || Shape(instrument) is not { } shape)
        {
            return;
        }

        var name = PrometheusText.MetricName(instrument.Name, instrument.Unit, shape.Type);
        var family = _families.GetOrAdd(name, static (n, a) => new Family(n, a.Help, a.Shape), (Help: instrument.Description ?? instrument.Name, Shape: shape));
        if (!family.Shape.SameAs(shape))
        {
            _logger.LogWarning(
                "Instrument {Instrument} of meter {Meter} is not exported: its Prometheus name {Name} is taken by an instrument of another kind",
                instrument.Name, instrument.Meter.Name, name);
            return;
        }

        listener.EnableMeasurementEvents(instrument, family);
    }

    /// <summary>How an instrument is exported, or null for an instrument kind this does not know.</summary>
    private static FamilyShape? Shape(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }

        var kind = type.GetGenericTypeDefinition();
        if (kind == typeof(Counter<>))
        {
            return new FamilyShape(PrometheusType.Counter, Observed: false, Bounds: null);
        }

        if (kind == typeof(ObservableCounter<>))
        {
            return new FamilyShape(PrometheusType.Counter, Observed: true, Bounds: null);
        }

        if (kind == typeof(UpDownCounter<>))
        {
            return new FamilyShape(PrometheusType.Gauge, Observed: false, Bounds: null);
        }

        if (kind == typeof(ObservableUpDownCounter<>) || kind == typeof(ObservableGauge<>) || kind == typeof(Gauge<>))
        {
            return new FamilyShape(PrometheusType.Gauge, Observed: true, Bounds: null);
        }

        if (kind == typeof(Histogram<>))
        {
            return new FamilyShape(PrometheusType.Histogram, Observed: false, Bounds: Bounds(instrument));
        }

        return null;
    }

    /// <summary>The instrument's advised bucket bounds if valid, else fixed ones for its unit.</summary>
    private static double[] Bounds(Instrument instrument)
    {
        var advised = instrument switch
        {
            Instrument<double> d => d.Advice?.HistogramBucketBoundaries?.ToArray(),
            Instrument<float> f => f.Advice?.HistogramBucketBoundaries?.Select(x => (double)x).ToArray(),
            Instrument<long> l => l.Advice?.HistogramBucketBoundaries?.Select(x => (double)x).ToArray(),
            Instrument<int> i => i.Advice?.HistogramBucketBoundaries?.Select(x => (double)x).ToArray(),
            _ => null,
        };
        if (advised is { Length: > 0 } && advised.All(double.IsFinite) && advised.Zip(advised.Skip(1)).All(p => p.First < p.Second))
        {
            return advised;
        }

        return instrument.Unit switch
        {
            "s" => SecondsBuckets,
            "ms" => SecondsBuckets.Select(b => b * 1000).ToArray(),
            _ => DefaultBuckets,
        };
    }

    private sealed record FamilyShape(PrometheusType Type, bool Observed, double[]? Bounds)
    {
        public bool SameAs(FamilyShape other) =>
            Type == other.Type && Observed == other.Observed
            && (Bounds is null ? other.Bounds is null : other.Bounds is not null && Bounds.AsSpan().SequenceEqual(other.Bounds));
    }

    /// <summary>One Prometheus metric family: the instruments that share its name, and their series by label set.</summary>
    private sealed class Family(string name, string help, FamilyShape shape)
    {
        private const string OverflowLabels = "otel_metric_overflow=\"true\"";
        private readonly ConcurrentDictionary<string, Series> _series = new(StringComparer.Ordinal);
        private int _count;

        public string Name { get; } = name;

        public FamilyShape Shape { get; } = shape;

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (double.IsNaN(value) || (Shape.Type == PrometheusType.Counter && !Shape.Observed && value < 0))
            {
                return; // a monotonic sum only grows; NaN has no bucket
            }

            var labels = PrometheusText.Labels(tags, Shape.Type == PrometheusType.Histogram ? "le" : null);
            if (!_series.TryGetValue(labels, out var series))
            {
                if (Volatile.Read(ref _count) >= MaxSeriesPerFamily)
                {
                    labels = OverflowLabels;
                }

                series = _series.GetOrAdd(labels, l =>
                {
                    Interlocked.Increment(ref _count);
                    return new Series(l, Shape.Bounds?.Length ?? -1);
                });
            }

            if (Shape.Type == PrometheusType.Histogram)
            {
                series.Observe(value, Shape.Bounds!);
            }
            else if (Shape.Observed)
            {
                series.Set(value);
            }
            else
            {
                series.Add(value);
            }
        }

        /// <summary>An instrument stopped: an observed value would go stale, so it is dropped (the next scrape observes again).</summary>
        public void Completed()
        {
            if (Shape.Observed)
            {
                _series.Clear();
                Volatile.Write(ref _count, 0);
            }
        }

        public void WriteTo(StringBuilder text)
        {
            var series = _series.Values.OrderBy(s => s.Labels, StringComparer.Ordinal).ToList();
            if (series.Count == 0)
            {
                return;
            }

            PrometheusText.AppendHeader(text, Name, help, Shape.Type);
            foreach (var s in series)
            {
                if (Shape.Type == PrometheusType.Histogram)
                {
                    s.WriteHistogram(text, Name, Shape.Bounds!);
                }
                else
                {
                    PrometheusText.AppendSample(text, Name, s.Labels, PrometheusText.Number(s.Value));
                }
            }
        }
    }

    /// <summary>One label set's aggregate: a value, or a histogram's bucket counts, sum and count.</summary>
    private sealed class Series(string labels, int bounds)
    {
        private readonly Lock _gate = new();
        private readonly long[] _buckets = bounds < 0 ? [] : new long[bounds + 1];
        private double _value;
        private double _sum;
        private long _count;

        public string Labels { get; } = labels;

        public double Value
        {
            get
            {
                lock (_gate)
                {
                    return _value;
                }
            }
        }

        public void Add(double delta)
        {
            lock (_gate)
            {
                _value += delta;
            }
        }

        public void Set(double value)
        {
            lock (_gate)
            {
                _value = value;
            }
        }

        public void Observe(double value, double[] bounds)
        {
            // The first bucket whose upper bound is >= value; past the last bound, the +Inf bucket.
            var i = Array.BinarySearch(bounds, value);
            if (i < 0)
            {
                i = ~i;
            }

            lock (_gate)
            {
                _buckets[i]++;
                _sum += value;
                _count++;
            }
        }

        public void WriteHistogram(StringBuilder text, string name, double[] bounds)
        {
            long[] buckets;
            double sum;
            long count;
            lock (_gate)
            {
                buckets = (long[])_buckets.Clone();
                sum = _sum;
                count = _count;
            }

            long cumulative = 0;
            for (var i = 0; i < bounds.Length; i++)
            {
                cumulative += buckets[i];
                PrometheusText.AppendSample(text, name + "_bucket", Labels, Count(cumulative), $"le=\"{PrometheusText.Number(bounds[i])}\"");
            }

            PrometheusText.AppendSample(text, name + "_bucket", Labels, Count(count), "le=\"+Inf\"");
            PrometheusText.AppendSample(text, name + "_sum", Labels, PrometheusText.Number(sum));
            PrometheusText.AppendSample(text, name + "_count", Labels, Count(count));
        }

        private static string Count(long n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
