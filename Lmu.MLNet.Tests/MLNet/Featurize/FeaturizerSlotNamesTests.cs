using System.Globalization;
using System.Text.RegularExpressions;
using Lmu.MLNet.Maths;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>
/// The featurizers name their output slots (ML.NET's SlotNames annotation), so feature importance and model
/// inspection can say which coefficient, step or window a feature is: ML.NET's dictionary form of
/// PermutationFeatureImportance failed on LmuFeaturize's unnamed features (QA). Each name is checked against the value
/// it names, computed independently in float64 (the step-by-step recurrence and the Legendre decoder, not the graph's
/// kernel); 2e-5 absolute or relative, as in <see cref="LmuFeaturizerTests"/>: float32 sums of a few hundred O(1)
/// products, while a name pointing at the wrong slot is off by far more.
/// </summary>
[TestClass]
public sealed partial class FeaturizerSlotNamesTests
{
    private const int Steps = 12, Channels = 2, Order = 4;

    [GeneratedRegex(@"^c(\d+)\.m(\d+)\.t(\d+)(#\d+)?$")]
    private static partial Regex MemoryName();

    [GeneratedRegex(@"^c(\d+)\.delay([0-9.E+-]+)(#\d+)?$")]
    private static partial Regex DelayName();

    [GeneratedRegex(@"^(ppv|max)\.w(\d+)\.p(\d+)$")]
    private static partial Regex PooledName();

    [TestMethod]
    public void EachMemoryFeatureIsNamedByItsChannelCoefficientAndStep()
    {
        var ml = new MLContext(1);
        var rows = FeaturizerData.Random(4, Steps, Channels, seed: 5);
        // A repeated window position and two delays: every kind of slot, and a repeat that needs a distinct name.
        var options = new LmuFeaturizerOptions { OutputColumnName = "F", Channels = Channels, Order = Order, Theta = 8, WindowPositions = [5, 9, 5], DecodedDelays = [0.5, 0.25] };
        using var model = ml.Transforms.LmuFeaturize(options).Fit(FeaturizerData.Load(ml, rows, Steps * Channels));
        var output = model.Transform(FeaturizerData.Load(ml, rows, Steps * Channels));
        var names = SlotNames(output.Schema["F"]);
        Assert.HasCount(model.OutputSize, names);
        Assert.HasCount(names.Length, names.Distinct(), string.Join(", ", names));
        CollectionAssert.Contains(names, "c1.m3.t5#2");
        var decoder = LegendreDecoder.Matrix(Order, [0.5, 0.25]);
        var features = output.GetColumn<float[]>("F").ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            var memory = FeaturizerData.Recurrence(FeaturizerData.Steps(rows[r].Features, Steps, Channels), Order, 8, LmuDiscretizer.Zoh);
            for (var slot = 0; slot < names.Length; slot++)
            {
                double expected;
                if (MemoryName().Match(names[slot]) is { Success: true } m)
                {
                    var (k, i, p) = (Int(m, 1), Int(m, 2), Int(m, 3));
                    expected = memory[p - 1][(k * Order) + i];
                }
                else if (DelayName().Match(names[slot]) is { Success: true } d)
                {
                    var k = Int(d, 1);
                    var j = Array.IndexOf([0.5, 0.25], double.Parse(d.Groups[2].Value, CultureInfo.InvariantCulture));
                    expected = Enumerable.Range(0, Order).Sum(i => decoder[j, i] * memory[Steps - 1][(k * Order) + i]);
                }
                else
                {
                    throw new AssertFailedException($"Slot {slot} has an unexpected name '{names[slot]}'.");
                }

                Assert.AreEqual(expected, features[r][slot], 2e-5 * Math.Max(1, Math.Abs(expected)), $"row {r}, slot {slot} '{names[slot]}'");
            }
        }
    }

    [TestMethod]
    public void EachPooledFeatureIsNamedByItsPoolWindowAndProjection()
    {
        var ml = new MLContext(1);
        var rows = FeaturizerData.Random(4, Steps, Channels, seed: 6);
        var options = new LmuPooledFeaturizerOptions { OutputColumnName = "P", Channels = Channels, Order = Order, Windows = 3, ProjectionsPerWindow = 4, Normalization = LmuFeatureNormalization.None, Seed = 2 };
        using var model = ml.Transforms.LmuPooledFeaturize(options).Fit(FeaturizerData.Load(ml, rows, Steps * Channels));
        var output = model.Transform(FeaturizerData.Load(ml, rows, Steps * Channels));
        var names = SlotNames(output.Schema["P"]);
        Assert.HasCount(model.OutputSize, names);
        var kernels = model.Kernels;
        var features = output.GetColumn<float[]>("P").ToArray();
        for (var r = 0; r < rows.Count; r++)
        {
            var u = FeaturizerData.Steps(rows[r].Features, Steps, Channels);
            for (var slot = 0; slot < names.Length; slot++)
            {
                var m = PooledName().Match(names[slot]);
                Assert.IsTrue(m.Success, $"Slot {slot} has an unexpected name '{names[slot]}'.");
                var (w, p) = (Int(m, 2), Int(m, 3));
                // The projection of window w's memory at every step, from the recurrence and the sampled weights.
                var memory = FeaturizerData.Recurrence(u, Order, kernels.Thetas[w], kernels.Discretizer);
                var projection = memory.Select(state => kernels.Biases[w, p] + Enumerable.Range(0, state.Length).Sum(j => kernels.Weights[w, p, j] * state[j])).ToArray();
                var expected = m.Groups[1].Value == "ppv" ? projection.Count(v => v > 0) / (double)Steps : projection.Max();
                Assert.AreEqual(expected, features[r][slot], 2e-5 * Math.Max(1, Math.Abs(expected)), $"row {r}, slot {slot} '{names[slot]}'");
            }
        }
    }

    [TestMethod]
    [DataRow("F")]
    [DataRow("Features")]
    public void TheNamesAreDeclaredAndSurviveASavedZip(string outputColumn)
    {
        // "Features" is the input column: the in-place form, whose graph output is copied back under the input's name.
        var ml = new MLContext(1);
        var data = FeaturizerData.Load(ml, FeaturizerData.Random(6, Steps, Channels, seed: 7), Steps * Channels);
        var estimator = ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions { OutputColumnName = outputColumn, Channels = Channels, Order = Order });
        var shape = estimator.GetOutputSchema(SchemaShapes.FromSchema(data.Schema));
        Assert.IsTrue(shape.Single(c => c.Name == outputColumn).Annotations.Any(a => a.Name == "SlotNames"), "GetOutputSchema must declare the SlotNames");
        var zip = Path.Combine(Path.GetTempPath(), $"lmu-slots-{Guid.NewGuid():N}.zip");
        try
        {
            string[] fitted;
            using (var model = estimator.Fit(data))
            {
                fitted = SlotNames(model.Transform(data).Schema[outputColumn]);
                ml.Model.Save(model, data.Schema, zip);
            }

            var loaded = ml.Model.Load(zip, out _);
            try
            {
                CollectionAssert.AreEqual(fitted, SlotNames(loaded.Transform(data).Schema[outputColumn]));
                Assert.AreEqual("c1.m3.t12", fitted[^1]);
            }
            finally
            {
                (loaded as IDisposable)?.Dispose();
            }
        }
        finally
        {
            File.Delete(zip);
        }
    }

    [TestMethod]
    public void OutputsWiderThanTheNameLimitStayUnnamed()
    {
        // ONNX Runtime builds the names' table in every session (about 0.7 KB a name): 2,000,000 pooled features took a
        // Fit from 1.5 to 3.6 GB (regression QA). Above LmuOnnxSlotNames.MaxSlots the output is unnamed, and says so.
        var ml = new MLContext(1);
        var data = FeaturizerData.Load(ml, FeaturizerData.Random(4, Steps, 1, seed: 9), Steps);
        var projections = (Lmu.MLNet.Onnx.LmuOnnxSlotNames.MaxSlots / 4) + 1;
        var estimator = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { OutputColumnName = "P", Order = 2, Windows = 2, ProjectionsPerWindow = projections, Seed = 1 });
        var shape = estimator.GetOutputSchema(SchemaShapes.FromSchema(data.Schema));
        Assert.IsFalse(shape.Single(c => c.Name == "P").Annotations.Any(a => a.Name == "SlotNames"), "GetOutputSchema must not promise names");
        using var model = estimator.Fit(data);
        Assert.AreEqual(4 * projections, model.OutputSize);
        Assert.IsFalse(model.Transform(data).Schema["P"].HasSlotNames(), "an output over the limit is unnamed");
        // One window fewer, under the limit: named.
        using var narrow = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { OutputColumnName = "P", Order = 2, Windows = 1, ProjectionsPerWindow = projections, Seed = 1 }).Fit(data);
        Assert.HasCount(2 * projections, SlotNames(narrow.Transform(data).Schema["P"]));
    }

    [TestMethod]
    public void PermutationFeatureImportanceReportsEachNamedFeature()
    {
        var ml = new MLContext(1);
        var rows = FeaturizerData.Random(60, Steps, 1, seed: 8);
        foreach (var row in rows)
        {
            // The class is the sign of the row's last step, which the memory's first coefficients carry.
            row.Label = row.Features[^1] > 0 ? "up" : "down";
        }

        var data = FeaturizerData.Load(ml, rows, Steps);
        var pipeline = ml.Transforms.LmuFeaturize("F", "Features", order: 3)
            .Append(ml.Transforms.Conversion.MapValueToKey("Label"))
            .Append(ml.MulticlassClassification.Trainers.LbfgsMaximumEntropy(featureColumnName: "F"));
        using var model = pipeline.Fit(data);
        var importance = ml.MulticlassClassification.PermutationFeatureImportance(model, model.Transform(data), permutationCount: 1);
        CollectionAssert.AreEquivalent(new[] { "c0.m0.t12", "c0.m1.t12", "c0.m2.t12" }, importance.Keys.ToArray());
    }

    private static string[] SlotNames(DataViewSchema.Column column)
    {
        Assert.IsTrue(column.HasSlotNames(), $"column '{column.Name}' has no SlotNames");
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetSlotNames(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }

    private static int Int(Match m, int group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
}
