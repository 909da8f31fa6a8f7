using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>
/// <see cref="LmuForecastEngine.SaveState"/> bytes (a stream without its model, for hosts with many streams of one
/// model) and <see cref="LmuForecastEngineModel"/>: resuming bit-identically, only with the model that wrote them,
/// never from damaged bytes; the last window of readings for another model to take over.
/// </summary>
[TestClass]
public sealed class ForecastStateBytesTests
{
    [TestMethod]
    [DataRow(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow)]
    [DataRow(HiddenCell.None, 0, LmuForecastScaling.Global)]
    [DataRow(HiddenCell.Lstm, 2, LmuForecastScaling.PerWindow)] // re-runs the window: no sliding arrays in the state
    public void SavedStateResumesBitIdentically_AtEveryPointOfTheStream(HiddenCell cell, int covariates, LmuForecastScaling scaling)
    {
        var model = ForecastTestModels.Create(cell, covariates, scaling);
        var shared = new LmuForecastEngineModel(model);
        var (values, covs) = ForecastTestModels.Series(40, covariates);
        var reference = new LmuForecastEngine(model);
        var hopping = shared.CreateEngine();
        for (var t = 0; t < values.Length; t++)
        {
            var x = covs.Select(c => c[t]).ToArray();
            var expected = reference.Observe(values[t], x);
            // Every step through bytes, as a grain that persists after each reading and may move at any one.
            hopping = shared.ResumeEngine(hopping.SaveState());
            var actual = hopping.Observe(values[t], x);
            Assert.AreEqual(reference.ObservationCount, hopping.ObservationCount);
            CollectionAssert.AreEqual(expected?.Forecast, actual?.Forecast, $"step {t}");
            CollectionAssert.AreEqual(expected?.LowerBound, actual?.LowerBound, $"step {t}");
            CollectionAssert.AreEqual(expected?.UpperBound, actual?.UpperBound, $"step {t}");
        }

        CollectionAssert.AreEqual(reference.SaveState(), hopping.SaveState(), "the same stream saves the same bytes");
        CollectionAssert.AreEqual(reference.Current!.Forecast, shared.ResumeEngine(reference.SaveState()).Current!.Forecast, "the forecast is back at once");
    }

    [TestMethod]
    public void AStateIsNeverResumedByAnotherModel()
    {
        var mine = new LmuForecastEngineModel(ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow, seed: 7));
        var theirs = new LmuForecastEngineModel(ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow, seed: 8));
        var engine = mine.CreateEngine();
        for (var t = 0; t < 15; t++)
        {
            engine.Observe(100 + t, t % 7);
        }

        var e = Assert.ThrowsExactly<InvalidDataException>(() => theirs.ResumeEngine(engine.SaveState()));
        StringAssert.Contains(e.Message, mine.Fingerprint);
        StringAssert.Contains(e.Message, theirs.Fingerprint);
    }

    [TestMethod]
    public void EveryOneByteChangeAndEveryTruncationIsRefused()
    {
        var shared = new LmuForecastEngineModel(ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow));
        var engine = shared.CreateEngine();
        for (var t = 0; t < 20; t++)
        {
            engine.Observe(100 + 3 * t, t % 7);
        }

        var bytes = engine.SaveState();
        var refused = 0;
        for (var i = 0; i < bytes.Length; i++)
        {
            foreach (var flip in new byte[] { 0x01, 0x80, 0xFF })
            {
                var damaged = (byte[])bytes.Clone();
                damaged[i] ^= flip;
                Assert.ThrowsExactly<InvalidDataException>(() => shared.ResumeEngine(damaged), $"byte {i} ^ {flip:X2}");
                refused++;
            }
        }

        foreach (var length in new[] { 0, 10, bytes.Length / 2, bytes.Length - 1 })
        {
            Assert.ThrowsExactly<InvalidDataException>(() => shared.ResumeEngine(bytes.AsSpan(0, length)), $"first {length} bytes");
        }

        Assert.ThrowsExactly<InvalidDataException>(() => shared.ResumeEngine([.. bytes, 0]), "a trailing byte");
        Assert.AreEqual(3 * bytes.Length, refused);
        Assert.IsNotNull(shared.ResumeEngine(bytes).Current, "the undamaged bytes resume");
    }

    [TestMethod]
    public void RecentObservationsAreTheLastWindowExactly_AndWarmAnotherModelAsFeedingItThoseReadings()
    {
        var a = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.PerWindow, seed: 7);
        var b = new LmuForecastEngineModel(ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.PerWindow, seed: 9));
        var (values, covs) = ForecastTestModels.Series(30, 2);
        var engine = new LmuForecastEngine(a);
        Assert.AreEqual(0, engine.RecentObservations().Count);
        for (var t = 0; t < values.Length; t++)
        {
            engine.Observe(values[t], covs[0][t], covs[1][t]);
            var recent = engine.RecentObservations();
            var first = Math.Max(0, t + 1 - a.WindowSize);
            Assert.AreEqual(t + 1 - first, recent.Count);
            for (var k = 0; k < recent.Count; k++)
            {
                CollectionAssert.AreEqual(new[] { values[first + k], covs[0][first + k], covs[1][first + k] }, recent[k], $"step {t}, entry {k}");
            }
        }

        // Another model fed the last window: the same forecast as that model fed the whole stream (up to rounding:
        // the forecast depends only on the window, but the sliding sums differ in the last bits).
        var warmed = b.CreateEngine();
        foreach (var o in engine.RecentObservations())
        {
            warmed.Observe(o[0], o.AsSpan(1));
        }

        var whole = b.CreateEngine();
        for (var t = 0; t < values.Length; t++)
        {
            whole.Observe(values[t], covs[0][t], covs[1][t]);
        }

        for (var i = 0; i < whole.Horizon; i++)
        {
            Assert.AreEqual(whole.Current!.Forecast[i], warmed.Current!.Forecast[i], 1e-3 * Math.Abs(whole.Current.Forecast[i]));
        }
    }
}
