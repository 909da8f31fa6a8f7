using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>
/// One engine shared by two threads: QA saw updates lost without an error (39,167 of 40,000 observations counted).
/// An overlapping call now throws, and every call that returned was counted.
/// </summary>
[TestClass]
public sealed class ForecastEngineSharingTests
{
    [TestMethod]
    [Timeout(60_000, CooperativeCancellation = true)]
    public void OverlappingCallsThrowAndNoObservationIsLost()
    {
        var engine = new LmuForecastEngine(ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.PerWindow));
        var accepted = new int[2];
        var refused = new int[2];
        var messages = new System.Collections.Concurrent.ConcurrentBag<string>();
        var stop = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        using var start = new Barrier(2);
        var threads = Enumerable.Range(0, 2).Select(t => new Thread(() =>
        {
            start.SignalAndWait();
            for (var i = 0; (refused[0] + refused[1] < 20 || i < 20_000) && DateTime.UtcNow < stop; i++)
            {
                try
                {
                    if (i % 500 == 499)
                    {
                        engine.SaveState();
                    }

                    engine.Observe((float)Math.Sin(i * 0.1));
                    accepted[t]++;
                }
                catch (InvalidOperationException e)
                {
                    refused[t]++;
                    messages.Add(e.Message);
                }
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());

        Assert.AreEqual((long)(accepted[0] + accepted[1]), engine.ObservationCount, "every Observe that returned was counted, none lost");
        Assert.IsGreaterThan(0, refused[0] + refused[1], "two threads calling for seconds never overlapped, so this test checked nothing");
        StringAssert.Contains(messages.First(), "while another call on the same engine was running");

        // The engine is intact: a single thread goes on as usual.
        var before = engine.ObservationCount;
        Assert.IsNotNull(engine.Observe(0.5f));
        Assert.AreEqual(before + 1, engine.ObservationCount);
    }
}
