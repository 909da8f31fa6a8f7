using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// The classifier's batches: its own pool shuffle gives every labelled row once per epoch, another order each epoch and
/// the same order for the same seed; and, unlike ML.NET's ShuffleRows, it closes what it opens over the data, so an LMU
/// featurizer upstream releases its ONNX graph when disposed.
/// </summary>
[TestClass]
public sealed class DataViewBatchSourceTests
{
    private const int Steps = 4;

    public sealed class Row
    {
        public string Label { get; set; } = string.Empty;

        [VectorType(Steps)]
        public float[] Features { get; set; } = new float[Steps];
    }

    public sealed class LengthRow
    {
        public string Label { get; set; } = string.Empty;

        [VectorType(Steps)]
        public float[] Features { get; set; } = new float[Steps];

        public int Length { get; set; }
    }

    [TestMethod]
    public void ARowsLengthAndLabelTravelWithItThroughThePoolAndAShufflingSource()
    {
        // Review: nothing checked that the pool moves a row's length with it, nor read a source that shuffles itself
        // (ml.Data.Cache can; LoadFromEnumerable cannot).
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, 45).Select(i => new LengthRow { Label = i % 2 == 0 ? "a" : "b", Features = [i, 1, 2, 3], Length = 1 + (i % Steps) });
        var data = ml.Data.Cache(ml.Data.LoadFromEnumerable(rows));
        Assert.IsTrue(data.CanShuffle, "the source shuffles itself");
        var layout = ClassifierInputLayout.Create(data.Schema, new LmuClassifierOptions { LengthColumnName = "Length" });
        var classes = TrainingDataScan.Run(data, layout, () => false).Classes;
        var seen = new List<int>();
        foreach (var b in new DataViewBatchSource(data, layout, classes, Steps, 8, 3, 5, "training", () => { }).Batches(0))
        {
            using (b)
            {
                using var scope = torch.NewDisposeScope();
                var lengths = b.Lengths!.data<long>().ToArray();
                var labels = b.Target.data<long>().ToArray();
                // With a length column a row's real steps come first, so step 0 still holds the row's number.
                var ids = b.Features.select(2, 0).select(1, 0).contiguous().data<float>().Select(v => (int)v).ToArray();
                for (var i = 0; i < ids.Length; i++)
                {
                    Assert.AreEqual(1 + (ids[i] % Steps), lengths[i], $"row {ids[i]}: its length");
                    Assert.AreEqual(ids[i] % 2 == 0 ? "a" : "b", classes.Names[(int)labels[i]], $"row {ids[i]}: its label");
                }

                seen.AddRange(ids);
            }
        }

        CollectionAssert.AreEquivalent(Enumerable.Range(0, 45).ToList(), seen, "every row once");
        CollectionAssert.AreNotEqual(Enumerable.Range(0, 45).ToList(), seen, "shuffled");
    }

    [TestMethod]
    public void AFullShufflePoolTrains()
    {
        // Review: the pool was allocated at ShufflePoolSize rows, so int.MaxValue (a full shuffle) overflowed its size;
        // it is now bounded by the rows there are.
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 30).Select(i => new Row { Label = i % 2 == 0 ? "up" : "down", Features = [.. Enumerable.Range(0, Steps).Select(t => (float)(i % 2 == 0 ? t : -t))] }));
        var options = new LmuClassifierOptions
        {
            ShufflePoolSize = int.MaxValue,
            Layer = new LmuLayerOptions { Order = 4, HiddenCell = HiddenCell.Dense, HiddenUnits = 4 },
            Training = new LmuTrainingOptions { Epochs = 2, BatchSize = 8 },
        };
        using var model = ml.MulticlassClassification.Trainers.Lmu(options).Fit(data);
        Assert.AreEqual(30, model.Info.TrainingRows);
    }

    [TestMethod]
    public void EveryRowOnceAnEpochInAnOrderThatTheSeedFixes()
    {
        var ml = new MLContext(1);
        // 50 rows through a pool of 7 in batches of 8: the first step of each row holds its number.
        var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 50).Select(i => new Row { Label = i % 3 == 0 ? "a" : "b", Features = [i, 1, 2, 3] }));
        var layout = ClassifierInputLayout.Create(data.Schema, new LmuClassifierOptions());
        var classes = TrainingDataScan.Run(data, layout, () => false).Classes;
        List<int> Order(int? seed, int epoch) =>
            new DataViewBatchSource(data, layout, classes, Steps, 8, seed, 7, "training", () => { }).Batches(epoch).SelectMany(b =>
            {
                using (b)
                {
                    using var scope = torch.NewDisposeScope();
                    var ids = b.Features.select(2, 0).select(1, 0).contiguous().data<float>().Select(v => (int)v).ToList();
                    var labels = b.Target.data<long>().ToArray();
                    for (var i = 0; i < ids.Count; i++)
                    {
                        Assert.AreEqual(ids[i] % 3 == 0 ? "a" : "b", classes.Names[(int)labels[i]], $"row {ids[i]} kept its label");
                    }

                    return ids;
                }
            }).ToList();

        var first = Order(5, 0);
        CollectionAssert.AreEquivalent(Enumerable.Range(0, 50).ToList(), first, "every row once");
        CollectionAssert.AreNotEqual(Enumerable.Range(0, 50).ToList(), first, "shuffled");
        CollectionAssert.AreEqual(first, Order(5, 0), "the same seed and epoch: the same order");
        var second = Order(5, 1);
        CollectionAssert.AreEquivalent(first, second);
        CollectionAssert.AreNotEqual(first, second, "another epoch: another order");
        CollectionAssert.AreEqual(Enumerable.Range(0, 50).ToList(), Order(null, 0), "no seed (validation): the data's order");
    }

    [TestMethod]
    [DataRow(0.0)]
    [DataRow(0.25)] // the validation split's cursors too (this case alone does not see an undisposed training cursor)
    public void AClassifierFittedOnAFeaturizersOutputLetsTheFeaturizerReleaseItsGraph(double validationFraction)
    {
        // ML.NET QA: the classifier shuffled through ML.NET's ShuffleRows, whose cursor never disposes the one it opens
        // over its input, so an LMU featurizer upstream kept its ONNX session and graph file after Dispose: one file per
        // Fit, still there after the process exited.
        var folder = Directory.CreateTempSubdirectory("lmu-batches-").FullName;
        try
        {
            var ml = new MLContext(1) { TempFilePath = folder };
            var rows = Enumerable.Range(0, 40).Select(i => new Row { Label = i % 2 == 0 ? "up" : "down", Features = [.. Enumerable.Range(0, Steps).Select(t => (float)((i % 2 == 0 ? t : -t) + (i * 0.01)))] });
            var data = ml.Data.LoadFromEnumerable(rows);
            var featurizer = ml.Transforms.LmuFeaturize("Memory", "Features", order: 3).Fit(data);
            Assert.HasCount(1, Directory.GetFiles(folder), "the featurizer's graph copy");
            var options = new LmuClassifierOptions
            {
                ValidationFraction = validationFraction,
                Layer = new LmuLayerOptions { Order = 4, HiddenCell = HiddenCell.Dense, HiddenUnits = 4 },
                Training = new LmuTrainingOptions { Epochs = 2, BatchSize = 8 },
            };
            ml.MulticlassClassification.Trainers.Lmu(options).Fit(featurizer.Transform(data)).Dispose();
            featurizer.Dispose();
            Assert.IsEmpty(Directory.GetFileSystemEntries(folder), "the featurizer's graph, released with it");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
