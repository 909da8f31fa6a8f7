using Lmu.MLNet.Onnx;

using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>Classifier outputs of the exported graph, run by ONNX Runtime.</summary>
[TestClass]
public sealed class LmuOnnxClassifierTests
{
    [TestMethod]
    public void ScoreIsSoftmaxAndPredictionsAreTheArgMax()
    {
        var spec = TestSpecs.Random(HiddenCell.Lstm, seed: 4, outputs: 3);
        string[] classes = ["cat", "dog", "émeu"];
        var model = LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions
        {
            InputName = "Seq",
            RawOutputName = "Logits",
            Classifier = new LmuOnnxClassifierOutputs
            {
                ClassNames = classes, ScoreName = "Probabilities", PredictedIndexName = "Index", PredictedClassName = "Class",
            },
        });
        const int rows = 7;
        var x = TestSpecs.Inputs(spec, rows, seed: 9);
        var width = spec.SequenceLength * spec.Layers[0].InputSize;
        var r = OnnxRunner.Run(model, "Seq", x, width, "Logits", "Probabilities");
        var index = OnnxRunner.RunInt64(model, "Seq", x, width, "Index");
        var names = OnnxRunner.RunStrings(model, "Seq", x, width, "Class");
        Assert.HasCount(rows, index);
        for (var n = 0; n < rows; n++)
        {
            var logits = r["Logits"].AsSpan(n * 3, 3).ToArray();
            var max = logits.Max();
            var sum = logits.Sum(v => Math.Exp(v - max));
            var expected = logits.Select(v => Math.Exp(v - max) / sum).ToArray();
            LmuOnnxOracleTests.AssertClose(expected, r["Probabilities"].AsSpan(n * 3, 3).ToArray(), 1e-6, $"row {n} softmax");
            var best = Array.IndexOf(logits, max);
            Assert.AreEqual(best, index[n]);
            Assert.AreEqual(classes[best], names[n]);
        }
    }

    [TestMethod]
    public void WrongClassCountIsRejected()
    {
        var spec = TestSpecs.Random(HiddenCell.None, seed: 4, outputs: 3);
        Assert.ThrowsExactly<ArgumentException>(() => LmuOnnxExporter.Export(spec, new LmuOnnxExportOptions
        {
            Classifier = new LmuOnnxClassifierOutputs { ClassNames = ["a", "b"] },
        }));
    }

    [TestMethod]
    public void RowLayoutScoresLikeTheBatchedLayout()
    {
        var spec = TestSpecs.Random(HiddenCell.Gru, seed: 6, outputs: 3);
        string[] classes = ["a", "b", "c"];
        LmuOnnxExportOptions Options(bool batch) => new()
        {
            BatchAxis = batch,
            RawOutputName = "Logits",
            Classifier = new LmuOnnxClassifierOutputs { ClassNames = classes, PredictedClassName = "Class" },
        };
        var x = TestSpecs.Inputs(spec, 1, seed: 2);
        var width = x.Length;
        var batched = OnnxRunner.Run(LmuOnnxExporter.Export(spec, Options(true)), "Features", x, width, "Logits", "Score");
        var rowModel = LmuOnnxExporter.Export(spec, Options(false));
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(rowModel);
        CollectionAssert.AreEqual(new[] { width }, session.InputMetadata["Features"].Dimensions);
        CollectionAssert.AreEqual(new[] { 3 }, session.OutputMetadata["Score"].Dimensions);
        using var input = Microsoft.ML.OnnxRuntime.OrtValue.CreateTensorValueFromMemory(x, [width]);
        using var runOptions = new Microsoft.ML.OnnxRuntime.RunOptions();
        using var r = session.Run(runOptions, ["Features"], [input], ["Logits", "Score", "Class"]);
        CollectionAssert.AreEqual(batched["Logits"], r[0].GetTensorDataAsSpan<float>().ToArray());
        CollectionAssert.AreEqual(batched["Score"], r[1].GetTensorDataAsSpan<float>().ToArray());
        Assert.HasCount(1, r[2].GetStringTensorAsArray());
    }
}
