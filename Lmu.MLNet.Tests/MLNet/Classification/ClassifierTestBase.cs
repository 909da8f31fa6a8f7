using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>A private temp folder per test, checked empty of ML.NET temp files and removed afterwards.</summary>
public abstract class ClassifierTestBase
{
    protected string Temp { get; private set; } = string.Empty;

    /// <summary>The folder given to MLContext.TempFilePath: nothing may be left in it.</summary>
    protected string MlTemp { get; private set; } = string.Empty;

    [TestInitialize]
    public void MakeTempDir()
    {
        Temp = Path.Combine(Path.GetTempPath(), "lmu-classifier-" + Guid.NewGuid().ToString("N"));
        MlTemp = Path.Combine(Temp, "ml");
        Directory.CreateDirectory(MlTemp);
    }

    [TestCleanup]
    public void RemoveTempDir() => Directory.Delete(Temp, recursive: true);

    protected void AssertNoTempFiles() =>
        CollectionAssert.AreEqual(Array.Empty<string>(), Directory.GetFileSystemEntries(MlTemp), "temp files left behind in MLContext.TempFilePath");

    /// <summary>
    /// Fits <paramref name="estimator"/> on <paramref name="train"/> and checks the three forms of the result against
    /// each other: the standalone graph's logits for <paramref name="heldOut"/> equal the trained TorchSharp network's
    /// (1e-4, float32 both, different operation orders), and the saved zip reloads to bit-identical scores.
    /// <paramref name="inspect"/> sees the trained network first. Returns the fitted model (the caller disposes it).
    /// </summary>
    protected LmuClassifierTransformer FitAndAssertCarriedEqualsTrained(
        MLContext ml, LmuClassifierEstimator estimator, IReadOnlyList<PatternRow> train, IReadOnlyList<PatternRow> heldOut, string what, Action<LmuNetwork>? inspect = null)
    {
        var flat = heldOut.SelectMany(r => r.Features).ToArray();
        float[]? torchLogits = null;
        estimator.InspectTrainedNetwork = net =>
        {
            inspect?.Invoke(net);
            using var x = torch.tensor(flat, [heldOut.Count, DelayedPatternData.Steps, 1]);
            using var _ = torch.no_grad();
            using var y = net.forward(x);
            torchLogits = y.data<float>().ToArray();
        };
        var model = estimator.Fit(ml.Data.LoadFromEnumerable(train));
        Assert.IsNotNull(torchLogits);
        var onnx = Onnx.OnnxRunner.Run(model.StandaloneOnnx(), "Features", flat, DelayedPatternData.Steps, "Logits")["Logits"];
        var worst = torchLogits.Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        Bound.Below(1e-4, worst, $"{what}: max |torch - onnx| logit = {worst:E2}");

        var data = ml.Data.LoadFromEnumerable(heldOut);
        var scores = model.Transform(data).GetColumn<float[]>("Score").ToArray();
        var path = Path.Combine(Temp, "carried.zip");
        ml.Model.Save(model, data.Schema, path);
        var loaded = LmuModelFile.Load(new MLContext(), path, out _);
        var reloaded = loaded.Transform(data).GetColumn<float[]>("Score").ToArray();
        (loaded as IDisposable)?.Dispose();
        for (var i = 0; i < heldOut.Count; i++)
        {
            CollectionAssert.AreEqual(scores[i], reloaded[i], $"{what}, row {i}: the reloaded zip scores bit-identically");
        }

        return model;
    }

    /// <summary>IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
    protected sealed class Inline(Action<LmuEpochReport> report) : IProgress<LmuEpochReport>
    {
        public void Report(LmuEpochReport value) => report(value);
    }
}
