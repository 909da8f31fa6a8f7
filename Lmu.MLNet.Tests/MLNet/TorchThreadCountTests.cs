using Lmu.MLNet.Classification;
using Lmu.MLNet.Tests.MLNet.Classification;
using Lmu.MLNet.Training;
using Microsoft.ML;
using TorchSharp;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// A Fit's torch thread count stays on the Fit's thread: libtorch keeps one count per thread and a process value that
/// new threads copy, and the leases once set both (found by QA: a thread whose first torch call fell inside a Fit kept
/// its count for good, and after such a thread ran a Fit every new thread in the process ran torch on one thread).
/// Every check runs on threads of its own, so the test runner's threads keep their counts.
/// </summary>
[TestClass]
public sealed class TorchThreadCountTests : ClassifierTestBase
{
    [TestMethod]
    public void ALeaseSetsItsOwnThreadOnlyAndRestoresIt()
    {
        var process = TorchThreadCount.ProcessValue();
        var asked = process + 1;
        var (before, during, newcomer, after) = OnThread(() =>
        {
            var before = torch.get_num_threads();
            int during, newcomer;
            using (TorchThreadCount.Use(asked))
            {
                during = torch.get_num_threads();
                // A thread whose first torch call falls inside the lease copies the process value, not the lease's.
                newcomer = OnThread(torch.get_num_threads);
            }

            return (before, during, newcomer, torch.get_num_threads());
        });
        Assert.AreEqual(asked, during);
        Assert.AreEqual(process, newcomer, "a thread started during the lease");
        Assert.AreEqual(before, after, "the lease's thread after it");
        Assert.AreEqual(process, TorchThreadCount.ProcessValue(), "the process value after the lease");
        Assert.AreEqual(process, OnThread(torch.get_num_threads), "a thread started after the lease");
    }

    [TestMethod]
    public void ANestedLeaseGivesTheOuterOneItsCountBack()
    {
        // Review: a Fit nested in another's progress callback with another TorchThreads left the outer Fit at its count.
        var process = TorchThreadCount.ProcessValue();
        var (outerDuring, innerDuring, outerAfterInner, before, after) = OnThread(() =>
        {
            var before = torch.get_num_threads();
            int outerDuring, innerDuring, outerAfterInner;
            using (TorchThreadCount.Use(process + 1))
            {
                outerDuring = torch.get_num_threads();
                using (TorchThreadCount.Use(process + 2))
                {
                    innerDuring = torch.get_num_threads();
                }

                outerAfterInner = torch.get_num_threads();
            }

            return (outerDuring, innerDuring, outerAfterInner, before, torch.get_num_threads());
        });
        Assert.AreEqual(process + 1, outerDuring);
        Assert.AreEqual(process + 2, innerDuring);
        Assert.AreEqual(process + 1, outerAfterInner, "the outer lease after the inner one ended");
        Assert.AreEqual(before, after);
        Assert.AreEqual(process, TorchThreadCount.ProcessValue());
    }

    [TestMethod]
    public void OverlappingLeasesOnTwoThreadsKeepTheirOwnCountsWhicheverEndsFirst()
    {
        var process = TorchThreadCount.ProcessValue();
        foreach (var firstEnds in new[] { 'x', 'y' })
        {
            using var xIn = new Barrier(2);
            using var xOut = new ManualResetEventSlim();
            using var yOut = new ManualResetEventSlim();
            int xDuring = 0, yDuring = 0, xAfterOther = 0, yAfterOther = 0, xAfter = 0, yAfter = 0;
            var x = new Thread(() =>
            {
                var before = torch.get_num_threads();
                using (TorchThreadCount.Use(process + 1))
                {
                    xIn.SignalAndWait();
                    xDuring = torch.get_num_threads();
                    xIn.SignalAndWait();
                    if (firstEnds == 'y')
                    {
                        yOut.Wait();
                        xAfterOther = torch.get_num_threads();
                    }
                }

                xAfter = torch.get_num_threads() - before;
                xOut.Set();
            });
            var y = new Thread(() =>
            {
                var before = torch.get_num_threads();
                using (TorchThreadCount.Use(process + 2))
                {
                    xIn.SignalAndWait();
                    yDuring = torch.get_num_threads();
                    xIn.SignalAndWait();
                    if (firstEnds == 'x')
                    {
                        xOut.Wait();
                        yAfterOther = torch.get_num_threads();
                    }
                }

                yAfter = torch.get_num_threads() - before;
                yOut.Set();
            });
            x.Start();
            y.Start();
            x.Join();
            y.Join();
            Assert.AreEqual(process + 1, xDuring, $"x while both run ({firstEnds} ends first)");
            Assert.AreEqual(process + 2, yDuring, $"y while both run ({firstEnds} ends first)");
            if (firstEnds == 'x') Assert.AreEqual(process + 2, yAfterOther, "y after x ended");
            else Assert.AreEqual(process + 1, xAfterOther, "x after y ended");
            Assert.AreEqual(0, xAfter, "x restored");
            Assert.AreEqual(0, yAfter, "y restored");
            Assert.AreEqual(process, TorchThreadCount.ProcessValue(), $"process value ({firstEnds} ends first)");
        }
    }

    [TestMethod]
    public void AFitLeavesTheProcessValueAndItsThreadAsItFoundThem()
    {
        var process = TorchThreadCount.ProcessValue();
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(24, 3));
        var options = ClassifierSetup.Parallel(epochs: 2);
        options.TorchThreads = process + 1;
        int inFit = 0, newcomer = 0;
        options.Progress = new Inline(_ =>
        {
            inFit = torch.get_num_threads();
            newcomer = OnThread(torch.get_num_threads);
        });
        var (before, after) = OnThread(() =>
        {
            var before = torch.get_num_threads();
            ml.Transforms.LmuClassifier(options).Fit(data).Dispose();
            return (before, torch.get_num_threads());
        });
        Assert.AreEqual(process + 1, inFit, "the Fit's thread while it trains");
        Assert.AreEqual(process, newcomer, "a thread whose first torch call is during the Fit");
        Assert.AreEqual(before, after, "the Fit's thread after it");
        Assert.AreEqual(process, TorchThreadCount.ProcessValue(), "the process value after the Fit");
    }

    private static T OnThread<T>(Func<T> action) => TorchThreadCount.OnOwnThread(action);
}
