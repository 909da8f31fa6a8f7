using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Ridge;

/// <summary>
/// The ridge trainer past the few-rows regime: many rows of few features (the primal form; the dual form took its
/// n x n matrices, 3.2 GB each at 20,000 rows, and ran for hours), its progress in the context's Log, and the memory
/// limit that refuses a Fit before it allocates what the process cannot hold.
/// </summary>
[TestClass]
public sealed class RidgeClassifierScaleTests
{
    [TestMethod]
    public void TwentyThousandRowsFitInThePrimalFormAndTheLogSaysSo()
    {
        var ml = new MLContext(seed: 1);
        var log = new List<string>();
        var channels = 0;
        ml.Log += (_, e) =>
        {
            if (e.Source != "RidgeClassifier") return;
            if (e.Kind == Microsoft.ML.Runtime.ChannelMessageKind.Info) lock (log) log.Add(e.Message);
            if (e.Message.Contains("Channel started", StringComparison.Ordinal)) Interlocked.Increment(ref channels);
        };
        var data = Keyed(ml, Rows(20_000, width: 8, seed: 2));
        using var model = ml.MulticlassClassification.Trainers.Ridge().Fit(data);

        // The classes are linearly separable with a margin, so a fit that solved the right system separates them.
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        Assert.IsGreaterThan(0.99, metrics.MicroAccuracy, "training accuracy of a separable set");
        // One channel for the Fit: ML.NET writes three Trace lines per channel, and a channel per line tripled the Log.
        Assert.AreEqual(1, channels, "channels opened");
        lock (log)
        {
            var all = string.Join("\n", log);
            Assert.IsTrue(log[0].EndsWith("] 20,000 rows of 8 features: Primal form, 10 penalties on a 8 x 8 matrix (under 1 MB besides the rows).", StringComparison.Ordinal), all);
            for (var k = 1; k <= 10; k++)
            {
                Assert.IsTrue(log.Any(m => m.Contains($"] penalty {k} of 10 (alpha ", StringComparison.Ordinal) && m.Contains("leave-one-out error", StringComparison.Ordinal)), $"penalty {k} in the Log:\n{all}");
            }
        }
    }

    [TestMethod]
    public void AFitThatWouldNotFitInMemoryIsRefusedAtTheRowThatCrossesTheLimit()
    {
        // 1,000 features: each row costs 8 KB in float64, and while rows <= features the dual form adds two n x n
        // matrices; each row also costs 48 bytes of array header, list slots and labels. The first row count whose plan
        // exceeds 2 MB, computed here from that plan, is where the read stops (183 of the 400 rows; a check after the
        // read would name 400). How far ML.NET's cursor read ahead of the
        // trainer is ML.NET's: a transformed view reads on a background thread.
        const int Width = 1000;
        const long Limit = 2_000_000;
        var expected = Enumerable.Range(1, 1000).First(n => (n * ((8L * Width) + 48)) + (16L * n * n) > Limit);
        var ml = new MLContext(seed: 1);
        var rows = Rows(400, Width, seed: 3);
        var key = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Load(ml, rows, Width));
        var trainer = new RidgeClassifierTrainer(new RidgeClassifierOptions(), null) { MemoryLimitBytes = Limit };
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(key.Transform(Load(ml, rows, Width))));
        StringAssert.Contains(e.Message, $"RidgeClassifier: {expected} rows of features column 'Features' (1,000 features) need about");
        StringAssert.Contains(e.Message, $"(the rows in float64 and two {expected} x {expected} float64 matrices), more than the 2,000,000 bytes this process may still use (the limit set); nothing was allocated for them.");
        StringAssert.Contains(e.Message, "SdcaMaximumEntropy");
        // Under a limit the same data fits.
        using var fitted = new RidgeClassifierTrainer(new RidgeClassifierOptions(), null) { MemoryLimitBytes = 10 * Limit }.Fit(key.Transform(Load(ml, rows, Width)));
        Assert.HasCount(3, fitted.Classes);
    }

    [TestMethod]
    public void AProcessThatAlreadyHoldsAllItMayUseIsToldSoNotANegativeRoom()
    {
        // Under a 160 MB heap the CLI's refusal read "1 rows ... need about 0.00 GB ..., more than the -0.02 GB this
        // process may still use": the managed memory held was already past the plan's share of the limit.
        var ml = new MLContext(seed: 1);
        var rows = Rows(20, 50, seed: 3);
        var key = ml.Transforms.Conversion.MapValueToKey("Label").Fit(Load(ml, rows, 50));
        var trainer = new RidgeClassifierTrainer(new RidgeClassifierOptions(), null) { MemoryLimitBytes = -20_000_000 };
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => trainer.Fit(key.Transform(Load(ml, rows, 50))));
        StringAssert.Contains(e.Message, "RidgeClassifier: 1 row of features column 'Features' (50 features) needs about 0.0 MB (the rows in float64 and two 1 x 1 float64 matrices), and this process has no memory left to give them: it already holds all it may use (the limit set, -20.0 MB); nothing was allocated for them.");
        Assert.DoesNotContain("may still use", e.Message);
        Assert.AreEqual("1.50 GB", RidgeClassifierTrainer.Size(1_500_000_000));
        Assert.AreEqual("999.0 MB", RidgeClassifierTrainer.Size(999_000_000));
    }

    /// <summary>Three classes by which of the first three features is largest, by a margin; the rest is noise.</summary>
    private static List<Row> Rows(int count, int width, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<Row>(count);
        for (var i = 0; i < count; i++)
        {
            var x = Enumerable.Range(0, width).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
            var c = i % 3;
            x[c] += 2;
            rows.Add(new Row { Features = x, Label = "abc"[c].ToString() });
        }

        return rows;
    }

    private static IDataView Keyed(MLContext ml, List<Row> rows)
    {
        var data = Load(ml, rows, rows[0].Features.Length);
        return ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
    }

    private static IDataView Load(MLContext ml, IEnumerable<Row> rows, int width)
    {
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        return ml.Data.LoadFromEnumerable(rows, definition);
    }

    public sealed class Row
    {
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = string.Empty;
    }
}
