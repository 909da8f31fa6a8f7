using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>
/// The streamed windows against a second formulation: every window of every series listed here in a plain loop
/// (ends every stride back from the last full horizon, the last floor(n x fraction) held out), cut by the same scaler.
/// One pool (the data's points fit it) must give exactly the permutation of that list the in-memory window set gave
/// (Random(seed + 7919 epoch).Shuffle of the window indices); small pools must give the same windows, each once, in
/// another order; validation gives the held-out windows in data order.
/// </summary>
[TestClass]
public sealed class ForecastWindowSourceTests
{
    private const int Window = 6, Horizon = 2, Stride = 3, Seed = 11, BatchSize = 7;
    private const double Fraction = 0.25;
    private static readonly int[] Lengths = [40, 25, 8, 60, 33];

    [TestMethod]
    public void OnePoolReproducesTheShuffleOfTheWholeWindowList()
    {
        var (data, scaler) = Scan(poolPoints: 1_000_000);
        var (train, _) = Reference(scaler);
        for (var epoch = 0; epoch < 3; epoch++)
        {
            var order = Enumerable.Range(0, train.Count).ToArray();
            new Random(Seed + (epoch * 7919)).Shuffle(order);
            var expected = order.Select(i => train[i]).ToList();
            var actual = Rows(new ForecastWindowSource(data, scaler, false, BatchSize, Seed, 1_000_000, () => { }), epoch, out var sizes);
            AssertRows(expected, actual, $"epoch {epoch}");
            Assert.IsTrue(sizes.Take(sizes.Count - 1).All(n => n == BatchSize), "full batches but the last");
        }
    }

    [TestMethod]
    public void SmallPoolsGiveEveryWindowOnceInAnotherOrderThatTheSeedDecides()
    {
        var (data, scaler) = Scan(poolPoints: 30);
        var (train, _) = Reference(scaler);
        var source = new ForecastWindowSource(data, scaler, false, BatchSize, Seed, 30, () => { });
        var first = Rows(source, 0, out var sizes);
        Assert.IsTrue(sizes.Take(sizes.Count - 1).All(n => n == BatchSize), "batches stay full across pools");
        AssertRows(Sorted(train), Sorted(first), "the same windows, each once");
        Assert.IsFalse(first.Zip(train).All(p => p.First.SequenceEqual(p.Second)), "shuffled");
        AssertRows(first, Rows(source, 0, out _), "the same epoch again");
        var second = Rows(source, 1, out _);
        AssertRows(Sorted(train), Sorted(second), "epoch 2: the same windows");
        Assert.IsFalse(first.Zip(second).All(p => p.First.SequenceEqual(p.Second)), "epochs shuffle differently");
    }

    [TestMethod]
    public void ValidationGivesTheHeldOutWindowsInDataOrder()
    {
        var (data, scaler) = Scan(poolPoints: 30);
        var (_, valid) = Reference(scaler);
        Assert.AreEqual(valid.Count, data.ValidationWindows);
        AssertRows(valid, Rows(new ForecastWindowSource(data, scaler, true, BatchSize, null, 30, () => { }), 0, out _), "validation");
    }

    [TestMethod]
    public void InterleavedSeriesAreHeldInMemoryWithTheSameWindows()
    {
        // The same series with their rows dealt round-robin: grouped in memory, in order of first appearance.
        var ml = new MLContext(1);
        var rows = new List<(string Id, float Value)>();
        for (var t = 0; t < Lengths.Max(); t++)
        {
            for (var s = 0; s < Lengths.Length; s++)
            {
                if (t < Lengths[s])
                {
                    rows.Add(($"s{s}", Value(s, t)));
                }
            }
        }

        var view = ml.Data.LoadFromEnumerable(rows.Select(r => new Row { Id = r.Id, Value = r.Value }));
        var data = ForecastTrainingData.Scan(view, Options(30), () => false);
        Assert.IsFalse(data.Streamed);
        Assert.AreEqual("s0", data.InterleavedId);
        var (sorted, scaler) = Scan(poolPoints: 30);
        CollectionAssert.AreEqual(sorted.Location, data.Location);
        CollectionAssert.AreEqual(sorted.Scale, data.Scale);
        var (train, _) = Reference(scaler);
        AssertRows(Sorted(train), Sorted(Rows(new ForecastWindowSource(data, scaler, false, BatchSize, Seed, 30, () => { }), 0, out _)), "interleaved");
    }

    private static float Value(int series, int t) => (series * 3) + MathF.Sin(t * 0.7f) + (0.01f * t * t);

    private static LmuForecastingOptions Options(long pool) => new()
    {
        SeriesColumnName = "Value", SeriesIdColumnName = "Id", WindowSize = Window, Horizon = Horizon, WindowStride = Stride,
        ValidationFraction = Fraction, ShufflePoolPoints = pool, Scaling = LmuForecastScaling.PerWindow,
    };

    private static (ForecastTrainingData Data, WindowScaler Scaler) Scan(long poolPoints)
    {
        var ml = new MLContext(1);
        var rows = Lengths.SelectMany((n, s) => Enumerable.Range(0, n).Select(t => new Row { Id = $"s{s}", Value = Value(s, t) }));
        var data = ForecastTrainingData.Scan(ml.Data.LoadFromEnumerable(rows), Options(poolPoints), () => false);
        Assert.IsTrue(data.Streamed);
        Assert.AreEqual(Lengths.Length, data.SeriesCount);
        return (data, new WindowScaler(Window, Horizon, 1, LmuForecastScaling.PerWindow, data.Location, data.Scale, LmuForecastModel.FloorUnit(relative: true, data.Scale[0])));
    }

    // The second formulation: the window list written out.
    private static (List<float[]> Train, List<float[]> Valid) Reference(WindowScaler scaler)
    {
        var train = new List<float[]>();
        var valid = new List<float[]>();
        for (var s = 0; s < Lengths.Length; s++)
        {
            var series = new ForecastSeries($"s{s}", Enumerable.Range(0, Lengths[s]).Select(t => (double)Value(s, t)).ToArray(), []);
            var ends = new List<int>();
            for (var end = Lengths[s] - Horizon - 1; end >= Window - 1; end -= Stride)
            {
                ends.Insert(0, end);
            }

            var held = (int)Math.Floor(ends.Count * Fraction);
            for (var k = 0; k < ends.Count; k++)
            {
                var row = new float[Window + Horizon];
                scaler.Fill(series, ends[k], row.AsSpan(0, Window), row.AsSpan(Window));
                (k >= ends.Count - held ? valid : train).Add(row);
            }
        }

        return (train, valid);
    }

    private static List<float[]> Rows(ILmuBatchSource source, int epoch, out List<int> sizes)
    {
        var rows = new List<float[]>();
        sizes = [];
        foreach (var batch in source.Batches(epoch))
        {
            using var b = batch;
            var x = b.Features.data<float>().ToArray();
            var y = b.Target.data<float>().ToArray();
            sizes.Add((int)b.Count);
            for (var i = 0; i < b.Count; i++)
            {
                rows.Add([.. x.AsSpan(i * Window, Window), .. y.AsSpan(i * Horizon, Horizon)]);
            }
        }

        return rows;
    }

    private static List<float[]> Sorted(List<float[]> rows) =>
        rows.OrderBy(r => string.Join(",", r.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))), StringComparer.Ordinal).ToList();

    private static void AssertRows(List<float[]> expected, List<float[]> actual, string what)
    {
        Assert.HasCount(expected.Count, actual, what);
        for (var i = 0; i < expected.Count; i++)
        {
            CollectionAssert.AreEqual(expected[i], actual[i], $"{what}: window {i}");
        }
    }

    private sealed class Row
    {
        public string Id { get; set; } = string.Empty;

        public float Value { get; set; }
    }
}
