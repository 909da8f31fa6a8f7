using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Training windows as (series, end) references into the series, scaled on the fly when a batch is built, so that
/// many long series never need a [windows, T, C] copy in memory.
/// </summary>
internal sealed class ForecastWindowSet
{
    private readonly IReadOnlyList<ForecastSeries> _series;
    private readonly List<(int Series, int End)> _windows;

    public ForecastWindowSet(IReadOnlyList<ForecastSeries> series, List<(int Series, int End)> windows, int windowSize, int horizon,
        LmuForecastScaling scaling, double[] location, double[] scale)
    {
        _series = series;
        _windows = windows;
        WindowSize = windowSize;
        Horizon = horizon;
        Scaling = scaling;
        Location = location;
        Scale = scale;
    }

    public int WindowSize { get; }

    public int Horizon { get; }

    public LmuForecastScaling Scaling { get; }

    public double[] Location { get; }

    public double[] Scale { get; }

    public int Count => _windows.Count;

    public int Channels => 1 + _series[0].Covariates.Length;

    /// <summary>Splits every series' windows (stride <paramref name="stride"/>) into training and validation references.</summary>
    public static (List<(int, int)> Train, List<(int, int)> Validation) Split(
        IReadOnlyList<ForecastSeries> series, int window, int horizon, int stride, double validationFraction)
    {
        var train = new List<(int, int)>();
        var valid = new List<(int, int)>();
        var oneEach = series.All(s => s.WindowCount(window, horizon) == 1);
        // One window per series (window layout): hold out the last series; otherwise the last windows of each series.
        var heldSeries = oneEach ? (int)Math.Floor(series.Count * validationFraction) : 0;
        for (var i = 0; i < series.Count; i++)
        {
            var ends = new List<int>();
            for (var end = series[i].Target.Length - horizon - 1; end >= window - 1; end -= stride)
            {
                ends.Add(end);
            }

            ends.Reverse();
            if (oneEach)
            {
                (i >= series.Count - heldSeries ? valid : train).Add((i, ends[0]));
                continue;
            }

            var held = (int)Math.Floor(ends.Count * validationFraction);
            for (var k = 0; k < ends.Count; k++)
            {
                (k >= ends.Count - held ? valid : train).Add((i, ends[k]));
            }
        }

        if (train.Count == 0)
        {
            throw new ArgumentException($"ValidationFraction = {validationFraction} leaves no training windows.");
        }

        return (train, valid);
    }

    /// <summary>Writes window <paramref name="i"/> scaled (time-major [T*C]) and its scaled targets [H].</summary>
    public void Fill(int i, Span<float> x, Span<float> y)
    {
        var (si, end) = _windows[i];
        var s = _series[si];
        var start = end - WindowSize + 1;
        var (a0, b0) = LmuForecastModel.TargetScaling(Scaling, Location[0], Scale[0], s.Target.AsSpan(start, WindowSize));
        var c = Channels;
        for (var t = 0; t < WindowSize; t++)
        {
            x[t * c] = (float)((s.Target[start + t] - a0) / b0);
            for (var k = 1; k < c; k++)
            {
                x[t * c + k] = (float)((s.Covariates[k - 1][start + t] - Location[k]) / Scale[k]);
            }
        }

        for (var h = 0; h < Horizon; h++)
        {
            y[h] = (float)((s.Target[end + 1 + h] - a0) / b0);
        }
    }

    /// <summary>
    /// Batches of scaled windows, shuffled per epoch from <paramref name="seed"/> when asked; <paramref name="throwIfCanceled"/>
    /// runs before each batch is built, so that cancellation stops within one batch.
    /// </summary>
    public ILmuBatchSource Batches(int batchSize, bool shuffle, int seed, Action throwIfCanceled) => new Source(this, batchSize, shuffle, seed, throwIfCanceled);

    private sealed class Source(ForecastWindowSet set, int batchSize, bool shuffle, int seed, Action throwIfCanceled) : ILmuBatchSource
    {
        public IEnumerable<LmuBatch> Batches(int epoch)
        {
            var order = Enumerable.Range(0, set.Count).ToArray();
            if (shuffle)
            {
                new Random(seed + epoch * 7919).Shuffle(order);
            }

            int t = set.WindowSize, c = set.Channels, h = set.Horizon;
            for (var start = 0; start < order.Length; start += batchSize)
            {
                throwIfCanceled();
                var n = Math.Min(batchSize, order.Length - start);
                var x = new float[n * t * c];
                var y = new float[n * h];
                for (var r = 0; r < n; r++)
                {
                    set.Fill(order[start + r], x.AsSpan(r * t * c, t * c), y.AsSpan(r * h, h));
                }

                yield return new LmuBatch(torch.tensor(x, [n, t, c]), torch.tensor(y, [n, h]));
            }
        }
    }
}
