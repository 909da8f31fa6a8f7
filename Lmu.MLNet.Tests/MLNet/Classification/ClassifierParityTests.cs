using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// Through the estimator: the trained TorchSharp network and the ONNX graph the model carries give the same logits on
/// held-out rows. Tolerance 1e-4 (float32 both, different operation orders over 24 steps; a layout or weight-copy
/// mistake gives O(1) differences).
/// </summary>
[TestClass]
public sealed class ClassifierParityTests : ClassifierTestBase
{
    [TestMethod]
    [DataRow("parallel")]
    [DataRow("recurrent")]
    public void TorchLogitsEqualTheExportedGraphOnHeldOutRows(string config)
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var options = config == "parallel" ? ClassifierSetup.Parallel(epochs: 2) : ClassifierSetup.Recurrent(epochs: 1);
        var estimator = ml.Transforms.LmuClassifier(options);
        var heldOut = DelayedPatternData.Rows(40, 21);
        var flat = heldOut.SelectMany(r => r.Features).ToArray();
        float[]? torchLogits = null;
        estimator.InspectTrainedNetwork = net =>
        {
            Assert.AreEqual(config == "parallel", net.Options.Layer.MemoryIsFeedForward);
            using var x = torch.tensor(flat, [heldOut.Count, DelayedPatternData.Steps, 1]);
            using var _ = torch.no_grad();
            using var y = net.forward(x);
            torchLogits = y.data<float>().ToArray();
        };
        using var model = estimator.Fit(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 20)));
        Assert.IsNotNull(torchLogits);

        var onnx = Onnx.OnnxRunner.Run(model.StandaloneOnnx(), "Features", flat, DelayedPatternData.Steps, "Logits")["Logits"];
        var worst = torchLogits.Zip(onnx, (a, b) => Math.Abs(a - b)).Max();
        Bound.Below(1e-4, worst, $"{config}: max |torch - onnx| logit = {worst:E2}");

        // And ML.NET's scores are the softmax of the torch logits (the carried graph is the exported one).
        var scores = model.Transform(ml.Data.LoadFromEnumerable(heldOut)).GetColumn<float[]>("Score").ToArray();
        for (var i = 0; i < heldOut.Count; i++)
        {
            var logits = torchLogits.AsSpan(i * 3, 3).ToArray();
            var max = logits.Max();
            var sum = logits.Sum(v => Math.Exp(v - max));
            for (var k = 0; k < 3; k++)
            {
                Assert.AreEqual(Math.Exp(logits[k] - max) / sum, scores[i][k], 1e-4, $"{config} row {i} class {k}");
            }
        }
    }
}
