using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>The ONNX carrier gives native ML.NET multiclass outputs that survive Model.Save/Load and leave no temp files.</summary>
[TestClass]
public sealed class OnnxCarrierTests
{
    [TestMethod]
    public void RunningOutOfOpenFilesIsToldFromAFullDisk()
    {
        // Limits QA: a load that failed with EMFILE was told to free space in the temp folder.
        Assert.IsTrue(OnnxCarrier.TooManyOpenFiles(new IOException("Too many open files : '/tmp/a0kal33g.bqm'")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.IsTrue(OnnxCarrier.TooManyOpenFiles(new IOException("(localised)", 24)), "errno 24 in the HResult");
        }

        Assert.IsFalse(OnnxCarrier.TooManyOpenFiles(new IOException("No space left on device : '/tmp/x'", 28)));
    }

    private string _temp = string.Empty;

    [TestInitialize]
    public void MakeTempDir()
    {
        _temp = Path.Combine(Path.GetTempPath(), "lmu-carrier-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_temp);
    }

    [TestCleanup]
    public void RemoveTempDir() => Directory.Delete(_temp, recursive: true);

    [TestMethod]
    public void OutputsHaveNativeTypesAndAnnotations()
    {
        var ml = Context();
        var data = ml.Data.LoadFromEnumerable(CarrierTestData.Rows());
        using var chain = Carrier(ml, data);
        var schema = chain.Transform(data).Schema;

        var score = schema["Score"];
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 3), score.Type);
        VBuffer<ReadOnlyMemory<char>> slots = default;
        score.GetSlotNames(ref slots);
        CollectionAssert.AreEqual(CarrierTestData.Classes, slots.DenseValues().Select(s => s.ToString()).ToArray());

        var predicted = schema["PredictedLabel"];
        Assert.IsInstanceOfType<KeyDataViewType>(predicted.Type);
        Assert.AreEqual(3UL, ((KeyDataViewType)predicted.Type).Count);
        VBuffer<ReadOnlyMemory<char>> keys = default;
        predicted.GetKeyValues(ref keys);
        CollectionAssert.AreEqual(CarrierTestData.Classes, keys.DenseValues().Select(s => s.ToString()).ToArray());

        Assert.IsFalse(schema.Any(c => c.Name.StartsWith("lmu.", StringComparison.Ordinal)), "intermediate columns must be dropped");
    }

    [TestMethod]
    public void ScoresMatchTheNetworkAndEvaluateWorks()
    {
        var ml = Context();
        var rows = CarrierTestData.Rows();
        var data = ml.Data.LoadFromEnumerable(rows);
        using var chain = Carrier(ml, data);
        // The label key in class order, as the trainer will build it.
        var labelKeys = ml.Data.LoadFromEnumerable(CarrierTestData.Classes.Select(c => new TextPrediction { PredictedLabel = c }));
        var labelled = ml.Transforms.Conversion.MapValueToKey("Label", keyData: labelKeys).Fit(data).Transform(data);
        var scored = chain.Transform(labelled);

        var metrics = ml.MulticlassClassification.Evaluate(scored);
        var expected = (rows.Count - CarrierTestData.Flipped) / (double)rows.Count;
        Assert.AreEqual(expected, metrics.MicroAccuracy, 1e-12);

        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();
        var spec = CarrierTestData.Spec();
        for (var i = 0; i < rows.Count; i++)
        {
            var logits = Onnx.LmuReferenceModel.Forward(spec, rows[i].Features).Output;
            var max = logits.Max();
            var sum = logits.Sum(v => Math.Exp(v - max));
            Onnx.LmuOnnxOracleTests.AssertClose(logits.Select(v => Math.Exp(v - max) / sum).ToArray(), scores[i], 1e-5, $"row {i}");
            Assert.AreEqual((uint)(Array.IndexOf(logits, max) + 1), keys[i], $"row {i} key");
        }
    }

    [TestMethod]
    public void PredictionEnginesAndMapKeyToValueWork()
    {
        var ml = Context();
        var rows = CarrierTestData.Rows();
        var data = ml.Data.LoadFromEnumerable(rows);
        using var chain = Carrier(ml, data);

        var keyEngine = ml.Model.CreatePredictionEngine<SequenceRow, KeyPrediction>(chain, new PredictionEngineOptions { OwnsTransformer = false });
        var withText = chain.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel").Fit(chain.Transform(data)));
        var textEngine = ml.Model.CreatePredictionEngine<SequenceRow, TextPrediction>(withText, new PredictionEngineOptions { OwnsTransformer = false });
        var asText = withText.Transform(data).GetColumn<ReadOnlyMemory<char>>("PredictedLabel").Select(m => m.ToString()).ToArray();
        for (var i = CarrierTestData.Flipped; i < rows.Count; i++)
        {
            var k = keyEngine.Predict(rows[i]);
            Assert.AreEqual(rows[i].Label, CarrierTestData.Classes[k.PredictedLabel - 1], $"row {i}");
            Assert.HasCount(3, k.Score);
            Assert.AreEqual(rows[i].Label, textEngine.Predict(rows[i]).PredictedLabel, $"row {i}");
            Assert.AreEqual(rows[i].Label, asText[i], $"row {i}");
        }
    }

    [TestMethod]
    public void SaveLoadInANewContextScoresIdenticallyAndLeavesNoTempFiles()
    {
        var zip = Path.Combine(_temp, "model.zip");
        var mlTemp = Path.Combine(_temp, "ml");
        Directory.CreateDirectory(mlTemp);
        var rows = CarrierTestData.Rows();
        float[][] before;
        uint[] beforeKeys;
        {
            var ml = Context(mlTemp);
            var data = ml.Data.LoadFromEnumerable(rows);
            using var chain = Carrier(ml, data);
            var scored = chain.Transform(data);
            before = scored.GetColumn<float[]>("Score").ToArray();
            beforeKeys = scored.GetColumn<uint>("PredictedLabel").ToArray();
            ml.Model.Save(chain, data.Schema, zip);
        }

        {
            var ml = Context(mlTemp);
            var loaded = OnnxCarrier.Load(ml, zip, out var inputSchema);
            Assert.AreEqual(CarrierTestData.Width, ((VectorDataViewType)inputSchema["Features"].Type).Size);
            var scored = loaded.Transform(ml.Data.LoadFromEnumerable(rows));
            var after = scored.GetColumn<float[]>("Score").ToArray();
            CollectionAssert.AreEqual(beforeKeys, scored.GetColumn<uint>("PredictedLabel").ToArray());
            for (var i = 0; i < rows.Count; i++)
            {
                CollectionAssert.AreEqual(before[i], after[i], $"row {i} must be bit-identical");
            }

            var engine = ml.Model.CreatePredictionEngine<SequenceRow, KeyPrediction>(loaded);
            Assert.AreEqual(beforeKeys[^1], engine.Predict(rows[^1]).PredictedLabel);
            engine.Dispose(); // owns and disposes the loaded model
        }

        CollectionAssert.AreEqual(Array.Empty<string>(), Directory.GetFileSystemEntries(mlTemp), "temp files left behind");
    }

    [TestMethod]
    public void CorruptedZipThrowsAnErrorNamingTheFile()
    {
        var ml = Context();
        var data = ml.Data.LoadFromEnumerable(CarrierTestData.Rows());
        var zip = Path.Combine(_temp, "model.zip");
        using (var chain = Carrier(ml, data))
        {
            ml.Model.Save(chain, data.Schema, zip);
        }

        var bytes = File.ReadAllBytes(zip);
        var truncated = Path.Combine(_temp, "truncated.zip");
        File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var e = Assert.ThrowsExactly<InvalidDataException>(() => OnnxCarrier.Load(Context(), truncated, out _));
        StringAssert.Contains(e.Message, truncated);

        var garbage = Path.Combine(_temp, "garbage.zip");
        File.WriteAllText(garbage, "not a model");
        e = Assert.ThrowsExactly<InvalidDataException>(() => OnnxCarrier.Load(Context(), garbage, out _));
        StringAssert.Contains(e.Message, garbage);
    }

    private MLContext Context(string? tempDir = null)
    {
        var dir = tempDir ?? Path.Combine(_temp, "ml-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return new MLContext(seed: 1) { TempFilePath = dir };
    }

    private static TransformerChain<ITransformer> Carrier(MLContext ml, IDataView data) =>
        OnnxCarrier.CreateMulticlass(ml, CarrierTestData.Model(), data, ["Features"], CarrierTestData.Classes);
}
