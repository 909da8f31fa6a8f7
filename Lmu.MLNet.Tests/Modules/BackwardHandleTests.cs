using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// A backward pass run with no dispose scope open (a user's own training loop) leaves no tensor of ours to the
/// finalizer: the last-step scan's backward named every view it made except three per chunk (found in review), so the
/// handles left behind grew with the number of chunks. TorchSharp's own (the incoming gradient, the gradients it
/// returns) do not depend on the length, so the count must be the same for a short and a long row.
/// </summary>
[TestClass]
public sealed class BackwardHandleTests
{
    [TestMethod]
    [DataRow(LmuExecutionMode.FusedScan, HiddenCell.None)]
    [DataRow(LmuExecutionMode.Parallel, HiddenCell.SimpleRnn)]
    public void HandlesLeftByABackwardOutsideAScopeDoNotGrowWithTheRow(LmuExecutionMode mode, HiddenCell cell)
    {
        // The fused row has no hidden cell, so the memory's own last-step scan runs with its input projection (with a
        // cell the fused form takes the two-stage scan, which names its views already; found in review).
        var options = new LmuLayerOptions
        {
            InputSize = 2, MemoryD = 2, Order = 8, Theta = 16, HiddenUnits = 6, UseMemoryBias = true, TrainableTheta = true,
            ExecutionMode = mode, HiddenCell = cell,
        };
        using var layer = new LmuLayer(options);
        var shortRow = Left(layer, 40);
        var longRow = Left(layer, 400);
        Assert.AreEqual(shortRow, longRow, $"handles left: {shortRow} after 40 steps, {longRow} after 400");
    }

    private static long Left(LmuLayer layer, int steps)
    {
        using var x = torch.randn(4, steps, 2);
        Tensor y, loss;
        using (NewDisposeScope())
        {
            y = layer.ForwardLast(x).MoveToOuterDisposeScope();
            loss = y.mul(y).mean().MoveToOuterDisposeScope();
        }

        var statistics = DisposeScopeManager.Statistics;
        var before = statistics.CreatedOutsideScopeCount - statistics.DisposedOutsideScopeCount;
        loss.backward();
        var after = statistics.CreatedOutsideScopeCount - statistics.DisposedOutsideScopeCount;
        foreach (var p in layer.parameters())
        {
            using var g = p.grad;
            g?.zero_();
        }

        loss.Dispose();
        y.Dispose();
        return after - before;
    }
}
