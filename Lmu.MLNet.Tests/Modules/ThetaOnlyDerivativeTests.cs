using Lmu.MLNet.Maths;
using Lmu.MLNet.Modules;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// Learned theta with A and B fixed takes closed-form derivatives (LegendreDynamics.ThetaOnly.cs) instead of autograd
/// through the matrix exponential and the impulse doubling: in every execution form and both discretisations, the
/// gradient in log theta against float64 central differences, and the whole pass (outputs, every gradient) against
/// the autograd path it replaces.
/// </summary>
[TestClass]
public sealed class ThetaOnlyDerivativeTests
{
    public static IEnumerable<object[]> Forms() => TrainableDynamicsTests.Forms();

    [TestMethod]
    [DynamicData(nameof(Forms))]
    public void LogThetaGradientMatchesFloat64FiniteDifferences(LmuExecutionMode mode, ParallelConvolution conv, HiddenCell cell, int memoryD, bool recurrentMemory, bool lastOnly)
    {
        foreach (var method in new[] { LmuDiscretizer.Zoh, LmuDiscretizer.Euler })
        {
            using var layer = ThetaOnlyLayer(mode, conv, cell, memoryD, recurrentMemory, method);
            var x = EquivalenceTests.Input(float64, 5);
            var weights = TrainableDynamicsTests.Loss(layer, x, lastOnly, null).Weights;
            long calls = LegendreDynamics.AnalyticThetaCalls;
            var (loss, _) = TrainableDynamicsTests.Loss(layer, x, lastOnly, weights);
            loss.backward();
            Assert.IsTrue(LegendreDynamics.AnalyticThetaCalls > calls, $"{method} {mode}: the closed-form path did not run");
            var p = TrainableDynamicsTests.Param(layer, "dynamics.log_theta");
            double analytic = p.grad!.item<double>();
            double fd = TrainableDynamicsTests.CentralDifference(layer, p, 0, x, lastOnly, weights);
            Assert.IsTrue(Math.Abs(fd) > 1e-4, $"{method} {mode}: the loss barely depends on theta, the test could not tell");
            // Central differences with h = 1e-6 in float64: truncation ~h^2, rounding ~1e-16 |L| / h ~ 1e-9.
            Assert.AreEqual(fd, analytic, 1e-6 * (1 + Math.Abs(fd)), $"{method} {mode} {conv} {cell} d={memoryD} last={lastOnly}: d loss / d log theta");
        }
    }

    [TestMethod]
    [DynamicData(nameof(Forms))]
    public void ClosedFormPassEqualsTheAutogradPass(LmuExecutionMode mode, ParallelConvolution conv, HiddenCell cell, int memoryD, bool recurrentMemory, bool lastOnly)
    {
        foreach (var method in new[] { LmuDiscretizer.Zoh, LmuDiscretizer.Euler })
        {
            using var closedForm = ThetaOnlyLayer(mode, conv, cell, memoryD, recurrentMemory, method);
            using var autograd = ThetaOnlyLayer(mode, conv, cell, memoryD, recurrentMemory, method);
            var x = EquivalenceTests.Input(float64, 6);
            var (lossClosed, weights) = TrainableDynamicsTests.Loss(closedForm, x, lastOnly, null);
            lossClosed.backward();
            Tensor lossAutograd;
            try
            {
                LegendreDynamics.AnalyticThetaDerivative = false;
                long calls = LegendreDynamics.AnalyticThetaCalls;
                lossAutograd = TrainableDynamicsTests.Loss(autograd, x, lastOnly, weights).Loss;
                lossAutograd.backward();
                Assert.AreEqual(calls, LegendreDynamics.AnalyticThetaCalls, "the switch did not turn the closed form off");
            }
            finally
            {
                LegendreDynamics.AnalyticThetaDerivative = true;
            }

            var what = $"{method} {mode} {conv} {cell} d={memoryD} last={lastOnly}";
            // The values are the same computation (no autograd or autograd around it): equal to float64 rounding.
            Assert.AreEqual(lossAutograd.item<double>(), lossClosed.item<double>(), 1e-12 * (1 + Math.Abs(lossAutograd.item<double>())), $"{what}: loss");
            var reference = autograd.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var (name, p) in closedForm.named_parameters())
            {
                var expected = reference[name].grad!;
                var scale = 1 + expected.abs().max().item<double>();
                // Two float64 evaluations of the same derivative by different sums: agreement to ~1e-12 relative;
                // 1e-9 leaves room for the longer chains (the matrix exponential's own backward) and nothing more.
                Assert.IsTrue(MaxAbsDiff(expected, p.grad!) < 1e-9 * scale, $"{what}: d loss / d {name}");
            }
        }
    }

    [TestMethod]
    [DataRow(LmuExecutionMode.Parallel, HiddenCell.Dense, false)]
    [DataRow(LmuExecutionMode.Parallel, HiddenCell.SimpleRnn, true)]
    [DataRow(LmuExecutionMode.FusedScan, HiddenCell.SimpleRnn, true)]
    public void Float32PassMatchesTheFloat64Pass(LmuExecutionMode mode, HiddenCell cell, bool lastOnly)
    {
        // The closed form computes in float64 and casts once: a float32 layer must give the float64 layer's loss and
        // log theta gradient to float32 rounding (1e-4 relative leaves room for sums over 8 steps; a missing or wrong
        // cast, or a derivative lost in it, is off by far more).
        foreach (var method in new[] { LmuDiscretizer.Zoh, LmuDiscretizer.Euler })
        {
            using var wide = ThetaOnlyLayer(mode, ParallelConvolution.Fft, cell, 1, mode == LmuExecutionMode.FusedScan, method);
            using var narrow = ThetaOnlyLayer(mode, ParallelConvolution.Fft, cell, 1, mode == LmuExecutionMode.FusedScan, method);
            narrow.to(float32);
            var x = EquivalenceTests.Input(float64, 8);
            var (lossWide, weights) = TrainableDynamicsTests.Loss(wide, x, lastOnly, null);
            lossWide.backward();
            var y = lastOnly ? narrow.ForwardLast(x.to(float32)) : narrow.forward(x.to(float32));
            var lossNarrow = (y * weights.to(float32)).sum();
            lossNarrow.backward();
            double expected = lossWide.item<double>(), actual = lossNarrow.item<float>();
            Assert.AreEqual(expected, actual, 1e-4 * (1 + Math.Abs(expected)), $"{method} {mode} {cell}: loss");
            double g64 = TrainableDynamicsTests.Param(wide, "dynamics.log_theta").grad!.item<double>();
            double g32 = TrainableDynamicsTests.Param(narrow, "dynamics.log_theta").grad!.item<float>();
            Assert.IsTrue(Math.Abs(g64) > 1e-3, $"{method} {mode}: the loss barely depends on theta, the test could not tell");
            Assert.AreEqual(g64, g32, 1e-4 * (1 + Math.Abs(g64)), $"{method} {mode} {cell}: d loss / d log theta");
        }
    }

    /// <summary>A float64 layer whose theta (only) learns, moved off its initial value so that theta's derivative is general.</summary>
    private static LmuLayer ThetaOnlyLayer(LmuExecutionMode mode, ParallelConvolution conv, HiddenCell cell, int memoryD, bool recurrentMemory, LmuDiscretizer method)
    {
        var o = TrainableDynamicsTests.FormOptions(mode, conv, cell, memoryD, recurrentMemory, method);
        o.TrainableTheta = true;
        var layer = new LmuLayer(o);
        layer.to(float64);
        Randomise(layer, 13);
        using var _ = torch.no_grad();
        TrainableDynamicsTests.Param(layer, "dynamics.log_theta").fill_(Math.Log(9.7));
        return layer;
    }
}
