using Lmu.MLNet.Maths;
using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// A module owns its weights from construction to its own Dispose, whatever dispose scope was open while it was built
/// (found by QA: a layer built in a scope lost them when the scope ended, as TorchSharp's own modules do not); after
/// Dispose it says so; its Options are a copy.
/// </summary>
[TestClass]
public sealed class ModuleLifetimeTests
{
    public static IEnumerable<object[]> Layers()
    {
        yield return [new LmuLayerOptions { InputSize = 2, Order = 4, Theta = 8, HiddenCell = HiddenCell.Dense, HiddenUnits = 5 }];
        yield return [new LmuLayerOptions { InputSize = 2, Order = 4, Theta = 8, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 5, HiddenToMemory = true, MemoryToMemory = true, UseMemoryBias = true }];
        yield return [new LmuLayerOptions { InputSize = 2, Order = 4, Theta = 8, HiddenCell = HiddenCell.Lstm, HiddenUnits = 5 }];
        yield return [new LmuLayerOptions { InputSize = 2, Order = 4, Theta = 8, HiddenCell = HiddenCell.None, MemoryD = 2, TrainableTheta = true }];
        yield return [new LmuLayerOptions { InputSize = 2, Order = 4, Theta = 8, HiddenCell = HiddenCell.Gru, HiddenUnits = 3, TrainableA = true, TrainableB = true }];
    }

    [TestMethod]
    [DynamicData(nameof(Layers))]
    public void ALayerBuiltInsideADisposeScopeWorksAfterTheScopeEnds(LmuLayerOptions options)
    {
        using var x = torch.randn(3, 8, 2);
        torch.manual_seed(3);
        using var reference = new LmuLayer(options);
        reference.eval();
        using var expected = reference.forward(x);

        torch.manual_seed(3);
        LmuLayer layer;
        using (torch.NewDisposeScope())
        {
            layer = new LmuLayer(options);
        }

        using (layer)
        {
            layer.eval();
            Assert.IsTrue(layer.parameters().All(p => !p.IsInvalid), "a parameter was freed with the scope");
            Assert.IsTrue(layer.buffers().All(b => !b.IsInvalid), "a buffer was freed with the scope");
            using var y = layer.forward(x);
            Assert.AreEqual(0f, (y - expected).abs().max().item<float>(), "the same seed gives the same layer, scope or not");
            using var last = layer.ForwardLast(x);
        }
    }

    [TestMethod]
    public void ANetworkBuiltInsideADisposeScopeWorksAfterTheScopeEndsAndItsOptionsAreACopy()
    {
        var options = new LmuNetworkOptions
        {
            Layers = [new LmuLayerOptions { InputSize = 1, Order = 4, Theta = 16, HiddenCell = HiddenCell.Dense, HiddenUnits = 8 }],
            OutputSize = 2,
        };
        LmuNetwork net;
        using (torch.NewDisposeScope())
        {
            net = new LmuNetwork(options);
        }

        using (net)
        {
            net.eval();
            using var x = torch.randn(3, 16, 1);
            using var a = net.forward(x);
            Assert.AreEqual(2L, a.shape[1]);

            // A change to what Options returns does not reach the network (QA: Readout = Mean changed its output,
            // MeanAndMax failed in libtorch's words).
            var copy = net.Options;
            copy.Readout = LmuReadout.MeanAndMax;
            copy.OutputSize = 7;
            copy.Layers[0].Order = 9;
            Assert.AreEqual(LmuReadout.LastStep, net.Options.Readout);
            Assert.AreEqual(2, net.Options.OutputSize);
            Assert.AreEqual(4, net.Options.Layers[0].Order);
            using var b = net.forward(x);
            Assert.AreEqual(0f, (a - b).abs().max().item<float>());
        }
    }

    [TestMethod]
    public void CachedMatricesHandedOutOutliveTheirModule()
    {
        // Found in review: fixed dynamics handed out their cached Ad^T, Bd and block powers themselves, so a Dispose of
        // the module on another thread freed them under a running pass. They are aliases now, owned by the caller.
        var dynamics = new LegendreDynamics(6, 10, LmuDiscretizer.Zoh, trainableTheta: false);
        var expected = DiscreteLegendreSystem.Create(6, 10, LmuDiscretizer.Zoh);
        var (adT, bd) = dynamics.Matrices(ScalarType.Float64, torch.CPU);
        var powers = dynamics.BlockPowers(3, ScalarType.Float64, torch.CPU);
        dynamics.Dispose();
        using (adT)
        using (bd)
        using (powers)
        {
            Assert.IsFalse(adT.IsInvalid || bd.IsInvalid || powers.IsInvalid, "a tensor handed out was freed with the module");
            for (var i = 0; i < 6; i++)
            {
                Assert.AreEqual(expected.Bd[i], bd[i].item<double>(), 1e-15, $"Bd[{i}]");
                for (var j = 0; j < 6; j++)
                {
                    Assert.AreEqual(expected.Ad[j, i], adT[i, j].item<double>(), 1e-15, $"Ad^T[{i}, {j}]");
                    Assert.AreEqual(expected.Ad[j, i], powers[0, i, j].item<double>(), 1e-15, $"(Ad^T)^1[{i}, {j}]");
                }
            }
        }
    }

    [TestMethod]
    public void ADisposedLayerOrNetworkSaysSo()
    {
        var layer = new LmuLayer(new LmuLayerOptions { InputSize = 1, Order = 4, Theta = 8, HiddenCell = HiddenCell.Dense, HiddenUnits = 5 });
        layer.Dispose();
        layer.Dispose();
        using var x = torch.randn(2, 8, 1);
        foreach (var call in new Action[] { () => layer.forward(x), () => layer.ForwardLast(x), () => layer.forward(x, null), () => _ = layer.InputEncoder })
        {
            var e = Assert.ThrowsExactly<ObjectDisposedException>(call);
            StringAssert.Contains(e.ObjectName, nameof(LmuLayer));
        }

        var net = new LmuNetwork(new LmuNetworkOptions { Layers = [new LmuLayerOptions { InputSize = 1, Order = 4, Theta = 8, HiddenCell = HiddenCell.Dense, HiddenUnits = 5 }], OutputSize = 2 });
        net.Dispose();
        foreach (var call in new Action[] { () => net.forward(x), () => _ = net.ParameterCount, () => net.ToOnnx(8) })
        {
            var e = Assert.ThrowsExactly<ObjectDisposedException>(call);
            StringAssert.Contains(e.ObjectName, nameof(LmuNetwork));
        }

        // A layer disposed on its own (review: the network then counted its head's parameters alone, silently), and the
        // dynamics of a disposed layer (they read freed tensors).
        using var partly = new LmuNetwork(new LmuNetworkOptions { Layers = [new LmuLayerOptions { InputSize = 1, Order = 4, Theta = 8, HiddenCell = HiddenCell.Dense, HiddenUnits = 5, TrainableTheta = true }], OutputSize = 2 });
        var dynamics = partly.Layer.Dynamics;
        partly.Layer.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => _ = partly.ParameterCount);
        Assert.ThrowsExactly<ObjectDisposedException>(() => _ = dynamics.Theta);
        Assert.ThrowsExactly<ObjectDisposedException>(() => dynamics.DiscreteMatrices());
        Assert.ThrowsExactly<ObjectDisposedException>(() => dynamics.ImpulseResponse(4, ScalarType.Float32, torch.CPU));

        // Fixed dynamics too: their caches must not be rebuilt on a disposed module (review: BlockPowers was).
        var fixedDynamics = new LegendreDynamics(6, 10, LmuDiscretizer.Zoh, trainableTheta: false);
        fixedDynamics.Dispose();
        Assert.ThrowsExactly<ObjectDisposedException>(() => fixedDynamics.BlockPowers(3, ScalarType.Float32, torch.CPU));
        Assert.ThrowsExactly<ObjectDisposedException>(() => fixedDynamics.Matrices(ScalarType.Float32, torch.CPU));
        Assert.ThrowsExactly<ObjectDisposedException>(() => fixedDynamics.ImpulseSpectrum(4, ScalarType.Float32, torch.CPU));
    }
}
