using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Training;

/// <summary>
/// Gradient clipping treats the learned dynamics (theta, A, B) as their own group: a large d loss / d log theta must
/// not shrink the weights' gradient (under one global norm it did, and psMNIST with a learned theta trained slower).
/// </summary>
[TestClass]
public sealed class GradientClipTests
{
    [TestMethod]
    public void ALargeThetaGradientLeavesTheWeightsGradientAlone()
    {
        using var network = new LmuNetwork(new LmuNetworkOptions
        {
            Layer = new LmuLayerOptions { Order = 6, Theta = 10, HiddenCell = HiddenCell.Dense, HiddenUnits = 4, TrainableTheta = true, TrainableA = true },
            OutputSize = 2,
        });
        var (dynamics, weights) = LmuTrainer.ClipGroups(network);
        CollectionAssert.AreEquivalent(
            new[] { "layers.0.dynamics.A", "layers.0.dynamics.log_theta" },
            network.named_parameters().Where(p => dynamics.Contains(p.parameter)).Select(p => p.name).ToArray(),
            "the dynamics group");
        Assert.AreEqual(network.parameters().Count(p => p.requires_grad), dynamics.Count + weights.Count, "every trainable parameter is in one group");

        using var scope = NewDisposeScope();
        // Gradients set by hand: the weights' norm 0.5 (under the limit), the dynamics' 1000 (far over it).
        using (torch.no_grad())
        {
            foreach (var p in weights) p.grad = torch.full_like(p, 0.5 / Math.Sqrt(weights.Sum(w => w.numel())));
            foreach (var p in dynamics) p.grad = torch.full_like(p, 1000 / Math.Sqrt(dynamics.Sum(w => w.numel())));
        }
        var before = weights.Select(p => p.grad!.clone()).ToList();
        LmuTrainer.ClipGradients(dynamics, weights, 1.0);
        for (int i = 0; i < weights.Count; i++)
        {
            Assert.IsTrue(torch.equal(before[i], weights[i].grad!).all().item<bool>(), "a weight's gradient changed although its group was under the limit");
        }
        double dynamicsNorm = Math.Sqrt(dynamics.Sum(p => p.grad!.mul(p.grad!).sum().item<float>()));
        Assert.AreEqual(1.0, dynamicsNorm, 1e-4, "the dynamics group is clipped to the limit");
    }
}
