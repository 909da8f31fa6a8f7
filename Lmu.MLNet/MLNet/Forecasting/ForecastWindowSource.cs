using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Batches of scaled windows cut on the fly from a fresh pass over the series every epoch, so that memory holds one
/// shuffle pool of series, never every window. Training: consecutive series are gathered until they hold
/// <c>poolPoints</c> values, their windows are shuffled together (Random(seed + 7919 epoch), one stream per epoch), cut
/// into the batches and released; the first pool of an epoch is cut short at a random point, so that pool boundaries
/// move from epoch to epoch. Data of at most <c>poolPoints</c> values is one pool: every window shuffled with every
/// other. Validation: every held-out window in data order.
/// </summary>
internal sealed class ForecastWindowSource : ILmuBatchSource
{
    private readonly ForecastTrainingData _data;
    private readonly WindowScaler _scaler;
    private readonly bool _validation;
    private readonly int _batchSize;
    private readonly int? _shuffleSeed;
    private readonly long _poolPoints;
    private readonly Action _throwIfCanceled;

    /// <param name="data">The series.</param>
    /// <param name="scaler">How windows are scaled.</param>
    /// <param name="validation">True for the held-out windows, false for the training ones.</param>
    /// <param name="batchSize">Windows per batch (the last batch of an epoch may be smaller).</param>
    /// <param name="shuffleSeed">Seed of the per-epoch shuffle; null keeps data order.</param>
    /// <param name="poolPoints">Series values gathered per shuffle pool.</param>
    /// <param name="throwIfCanceled">Runs before each batch is built, so that cancellation stops within one batch.</param>
    public ForecastWindowSource(
        ForecastTrainingData data, WindowScaler scaler, bool validation, int batchSize, int? shuffleSeed, long poolPoints, Action throwIfCanceled)
    {
        _data = data;
        _scaler = scaler;
        _validation = validation;
        _batchSize = batchSize;
        _shuffleSeed = shuffleSeed;
        _poolPoints = poolPoints;
        _throwIfCanceled = throwIfCanceled;
    }

    /// <summary>Windows per epoch.</summary>
    public long Count => _validation ? _data.ValidationWindows : _data.TrainWindows;

    public int Horizon => _scaler.Horizon;

    /// <summary>The same windows in data order, in batches of <paramref name="batchSize"/>.</summary>
    public ForecastWindowSource InOrder(int batchSize) => new(_data, _scaler, _validation, batchSize, null, _poolPoints, _throwIfCanceled);

    /// <inheritdoc />
    public IEnumerable<LmuBatch> Batches(int epoch)
    {
        var random = _shuffleSeed is int seed ? new Random(unchecked(seed + (epoch * 7919))) : null;
        var batches = new Builder(_scaler, _batchSize, _throwIfCanceled);
        var pool = new List<ForecastSeries>();
        var windows = new List<(int Series, int End)>();
        long held = 0;
        var limit = random is not null && _data.Points > _poolPoints ? random.NextInt64(1, _poolPoints + 1) : _poolPoints;
        long index = 0;
        var stride = _data.Split.Stride;
        foreach (var s in _data.Read())
        {
            var (train, valid) = _data.Split.Of(index++, s.Target.Length);
            var (first, count) = _validation ? valid : train;
            if (count == 0)
            {
                continue;
            }

            if (random is null)
            {
                for (var k = 0; k < count; k++)
                {
                    if (batches.Add(s, first + (k * stride)) is { } full)
                    {
                        yield return full;
                    }
                }

                continue;
            }

            pool.Add(s);
            for (var k = 0; k < count; k++)
            {
                windows.Add((pool.Count - 1, first + (k * stride)));
            }

            held += s.Target.Length;
            if (held >= limit)
            {
                foreach (var full in Shuffled(pool, windows, random, batches))
                {
                    yield return full;
                }

                held = 0;
                limit = _poolPoints;
            }
        }

        if (random is not null)
        {
            foreach (var full in Shuffled(pool, windows, random, batches))
            {
                yield return full;
            }
        }

        if (batches.Last() is { } last)
        {
            yield return last;
        }
    }

    // Cuts the pool's windows in a random order, then releases the pool.
    private static IEnumerable<LmuBatch> Shuffled(List<ForecastSeries> pool, List<(int Series, int End)> windows, Random random, Builder batches)
    {
        var order = Enumerable.Range(0, windows.Count).ToArray();
        random.Shuffle(order);
        foreach (var i in order)
        {
            var (s, end) = windows[i];
            if (batches.Add(pool[s], end) is { } full)
            {
                yield return full;
            }
        }

        pool.Clear();
        windows.Clear();
    }

    /// <summary>Fills one batch at a time; a batch may take windows from two pools.</summary>
    private sealed class Builder(WindowScaler scaler, int batchSize, Action throwIfCanceled)
    {
        private float[] _x = [];
        private float[] _y = [];
        private int _n;

        /// <summary>Adds a window; returns the batch it completes, if any.</summary>
        public LmuBatch? Add(ForecastSeries series, int end)
        {
            int t = scaler.WindowSize, c = scaler.Channels, h = scaler.Horizon;
            if (_n == 0)
            {
                throwIfCanceled();
                _x = new float[batchSize * t * c];
                _y = new float[batchSize * h];
            }

            scaler.Fill(series, end, _x.AsSpan(_n * t * c, t * c), _y.AsSpan(_n * h, h));
            return ++_n == batchSize ? Take() : null;
        }

        /// <summary>The partial batch left at the end of an epoch, if any.</summary>
        public LmuBatch? Last() => _n > 0 ? Take() : null;

        private LmuBatch Take()
        {
            int t = scaler.WindowSize, c = scaler.Channels, h = scaler.Horizon, n = _n;
            _n = 0;
            var x = n == batchSize ? _x : _x.AsSpan(0, n * t * c).ToArray();
            var y = n == batchSize ? _y : _y.AsSpan(0, n * h).ToArray();
            return new LmuBatch(torch.tensor(x, [n, t, c]), torch.tensor(y, [n, h]));
        }
    }
}
