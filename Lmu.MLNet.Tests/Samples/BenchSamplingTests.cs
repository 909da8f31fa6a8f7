using Lmu.MLNet.Samples.Bench;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The bench's samples (<c>bench --calls-per-sample</c>): both sides run the same number of calls per sample, chosen
/// for about <see cref="LmuBenchmark.AutoSampleSeconds"/> from ours' timed calls unless given, and report seconds per call.
/// </summary>
[TestClass]
public sealed class BenchSamplingTests
{
    /// <summary>
    /// A side whose calls take a fixed time, after the times in <paramref name="first"/> for its first calls; it records
    /// how many calls each sample asked for.
    /// </summary>
    private sealed class FixedSide(string name, double secondsPerCall, params double[] first) : IBenchSide
    {
        private int _answered;

        public List<int> Requests { get; } = [];

        public string Name => name;

        public double MatmulGflops(int n, int reps) => 0;

        public double CopyGBs(int mib, int reps) => 0;

        public void Setup(string config, int steps, int batch, int seed) { }

        public double Train(int calls = 1)
        {
            Requests.Add(calls);
            return _answered < first.Length ? first[_answered++] : secondsPerCall;   // seconds per call, whatever the number of calls
        }

        public double Infer(int calls = 1) => Train(calls);

        public (double Seconds, long PeakKb) TrainWithMemory() => (secondsPerCall, -1);

        public (double Seconds, long PeakKb) InferWithMemory() => (secondsPerCall, -1);

        public void Dispose() { }
    }

    private static LmuBenchmark.Settings Settings(int callsPerSample) =>
        new(Threads: 1, Samples: 5, Warmup: 1, Configs: ["ff_dense"], Steps: 784, Batch: 100, RunPeer: false, PeerScript: null,
            JsonPath: null, CallsPerSample: callsPerSample, SettleSeconds: 0);

    [TestMethod]
    [DataRow(0.001, 20, DisplayName = "1 ms calls: 20 per sample")]
    [DataRow(0.0015, 14, DisplayName = "1.5 ms calls: 14 per sample")]
    [DataRow(0.5, 1, DisplayName = "calls longer than a sample: 1")]
    [DataRow(1e-6, LmuBenchmark.MaxAutoCalls, DisplayName = "very short calls: at most MaxAutoCalls")]
    public void AutomaticCallsGiveBothSidesTheSameSamples(double secondsPerCall, int expected)
    {
        using var ours = new FixedSide("ours", secondsPerCall);
        using var peer = new FixedSide("peer", 2 * secondsPerCall);
        var series = LmuBenchmark.Sample("ff_dense", "train", ours, peer, (side, n) => side.Train(n), Settings(0));
        Assert.AreEqual(expected, series.Calls);
        // Ours: four single calls to choose (the first warms, the median of the next three is used), then warm-up and samples.
        CollectionAssert.AreEqual(new[] { 1, 1, 1, 1 }, ours.Requests.Take(4).ToArray(), "the choice times single calls of ours");
        Assert.IsTrue(ours.Requests.Skip(4).All(n => n == expected), "every sample of ours runs the chosen calls");
        Assert.AreEqual(10, ours.Requests.Count, "ours: four choosing calls, one warm-up round and five samples");
        Assert.AreEqual(6, peer.Requests.Count, "the peer: one warm-up round and five samples");
        Assert.IsTrue(peer.Requests.All(n => n == expected), "the peer runs as many calls per sample as ours");
        Assert.IsTrue(series.Ours.All(s => s == secondsPerCall) && series.Peer.All(s => s == 2 * secondsPerCall), "seconds per call are kept as reported");
    }

    [TestMethod]
    public void OneSlowTimedCallDoesNotChooseTheCalls()
    {
        // Warm-up 10 ms, then 4 ms (a hiccup), 1.3 ms, 1.25 ms: the median 1.3 ms gives ceil(20 / 1.3) = 16 calls, where
        // the hiccup alone would give 5.
        using var ours = new FixedSide("ours", 0.0013, 0.010, 0.004, 0.0013, 0.00125);
        using var peer = new FixedSide("peer", 0.002);
        var series = LmuBenchmark.Sample("ff_dense", "train", ours, peer, (side, n) => side.Train(n), Settings(0));
        Assert.AreEqual(16, series.Calls);
    }

    [TestMethod]
    public void OursRunsAloneUntilSettledBeforeAnythingIsTimed()
    {
        // The runtime recompiles managed kernels only after 100 ms without new methods compiled: ours runs alone for the
        // settling time (at least 3 calls) first, the peer not at all; then the choice, warm-up and samples as before.
        using var ours = new FixedSide("ours", 0.001);
        using var peer = new FixedSide("peer", 0.002);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        LmuBenchmark.Sample("ff_dense", "train", ours, peer, (side, n) => side.Train(n), Settings(callsPerSample: 0) with { SettleSeconds = 0.2 });
        Bound.Below(clock.Elapsed.TotalSeconds + 1e-9, 0.2);
        Assert.IsGreaterThan(3 + 10, ours.Requests.Count, "settling calls besides the four choosing calls, one warm-up round and five samples");
        Assert.AreEqual(6, peer.Requests.Count, "the peer: one warm-up round and five samples, no settling");
    }

    [TestMethod]
    public void GivenCallsAreUsedAsTheyAre()
    {
        using var ours = new FixedSide("ours", 0.001);
        using var peer = new FixedSide("peer", 0.001);
        var series = LmuBenchmark.Sample("ff_dense", "infer", ours, peer, (side, n) => side.Infer(n), Settings(3));
        Assert.AreEqual(3, series.Calls);
        Assert.IsTrue(ours.Requests.Concat(peer.Requests).All(n => n == 3), "every call of either side asked for 3 per sample");
        Assert.AreEqual(6, ours.Requests.Count, "no timing call when the number is given");
    }
}
