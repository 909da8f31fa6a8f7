using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>
/// The SSA-shaped typed engine: equal to the untyped engine bit for bit, horizon prefixes, checkpoints into a model zip
/// that mlContext.Model.Load reads and that resumes bit-identically, and clear errors for unusable TIn/TOut.
/// </summary>
[TestClass]
public sealed class ForecastTimeSeriesEngineTests
{
    private string _dir = null!;

    [TestInitialize]
    public void NewDir()
    {
        _dir = Path.Combine(Path.GetTempPath(), $"lmu-tsengine-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void RemoveDir() => Directory.Delete(_dir, recursive: true);

    public static IEnumerable<object[]> Cases() =>
    [
        [HiddenCell.Dense, 2, LmuForecastScaling.PerWindow, true],
        [HiddenCell.Dense, 0, LmuForecastScaling.Global, false],
        [HiddenCell.Lstm, 1, LmuForecastScaling.PerWindow, true],
        [HiddenCell.None, 2, LmuForecastScaling.Global, true],
    ];

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void TypedEngineEqualsTheUntypedEngineBitForBit(HiddenCell cell, int covariates, LmuForecastScaling scaling, bool bounds)
    {
        var model = ForecastTestModels.Create(cell, covariates, scaling, bounds);
        var (values, covs) = ForecastTestModels.Series(80, covariates);
        using var transformer = Transformer(model);
        var typed = transformer.CreateTimeSeriesEngine<Observation, Prediction>(new MLContext(1));
        var untyped = transformer.CreateEngine();
        Assert.AreEqual("Value", typed.SeriesColumnName);
        Assert.AreEqual(model.Fingerprint, typed.ModelFingerprint);
        for (var t = 0; t < values.Length; t++)
        {
            var p = typed.Predict(Observation.At(values, covs, t));
            var f = untyped.Observe(values[t], covs.Select(c => c[t]).ToArray());
            Assert.AreEqual(t + 1, typed.ObservationCount);
            if (f is null)
            {
                Assert.IsFalse(typed.IsReady);
                Assert.IsTrue(p.Forecast.Length == model.Horizon && p.Forecast.All(float.IsNaN), $"step {t}: NaN before a full window");
                continue;
            }

            CollectionAssert.AreEqual(f.Forecast, p.Forecast, $"step {t}");
            if (bounds)
            {
                CollectionAssert.AreEqual(f.LowerBound, p.Lower, $"step {t} lower");
                CollectionAssert.AreEqual(f.UpperBound, p.Upper, $"step {t} upper");
            }
            else
            {
                Assert.IsNull(p.Lower);
            }
        }
    }

    [TestMethod]
    public void AFittedForecasterStreamsSsaStyleFromItsSeriesColumn()
    {
        // ForecastBySsa's flow: fit on series rows, CreateTimeSeriesEngine, Predict, CheckPoint, load, continue.
        var ml = new MLContext(1);
        var (values, covs) = ForecastTestModels.Series(120, 2);
        using var model = ml.Forecasting.ForecastByLmu(new LmuForecastingOptions
        {
            SeriesColumnName = "Value", CovariateColumnNames = ["Cov0", "Cov1"], WindowSize = 16, Horizon = 4,
            LowerBoundColumnName = "Lower", UpperBoundColumnName = "Upper",
            Training = new LmuTrainingOptions { Epochs = 1, BatchSize = 32, Seed = 3 },
        }).Fit(SeriesView.Create(ml, values, covs));
        var engine = model.CreateTimeSeriesEngine<Observation, Prediction>(ml);
        Assert.AreEqual("Value", engine.SeriesColumnName);
        var untyped = model.CreateEngine();
        for (var t = 0; t < 60; t++)
        {
            var p = engine.Predict(Observation.At(values, covs, t));
            var f = untyped.Observe(values[t], covs[0][t], covs[1][t]);
            CollectionAssert.AreEqual(f?.Forecast ?? Enumerable.Repeat(float.NaN, 4).ToArray(), p.Forecast, $"step {t}");
        }

        var zip = Path.Combine(_dir, "fitted.zip");
        engine.CheckPoint(ml, zip);
        var resumed = LmuForecastTimeSeriesEngine.Load<Observation, Prediction>(new MLContext(9), zip);
        Assert.AreEqual(model.Info.ModelFingerprint, resumed.ModelFingerprint);
        for (var t = 60; t < values.Length; t++)
        {
            var expected = engine.Predict(Observation.At(values, covs, t));
            var actual = resumed.Predict(Observation.At(values, covs, t));
            CollectionAssert.AreEqual(expected.Forecast, actual.Forecast, $"step {t}");
            CollectionAssert.AreEqual(expected.Upper, actual.Upper, $"step {t}");
        }

        // Series rows score directly, and the last row's forecast is the last window's.
        var rows = SeriesView.Create(ml, values, covs);
        var perRow = LmuForecastWindows.Score(model, rows, "Value").GetColumn<float[]>("Forecast").ToArray();
        var last = model.Transform(LmuForecastWindows.LastWindows(rows, "Value", 16, covariates: ["Cov0", "Cov1"])).GetColumn<float[]>("Forecast").Single();
        CollectionAssert.AreEqual(last, perRow[^1]);
    }

    [TestMethod]
    public void PredictWithAHorizonReturnsThePrefixAndRefusesMoreThanTheModelForecasts()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.PerWindow);
        var (values, covs) = ForecastTestModels.Series(40, 2);
        using var transformer = Transformer(model);
        var ml = new MLContext(1);
        var full = transformer.CreateTimeSeriesEngine<Observation, Prediction>(ml);
        var shorter = transformer.CreateTimeSeriesEngine<Observation, Prediction>(ml);
        for (var t = 0; t < values.Length; t++)
        {
            var all = full.Predict(Observation.At(values, covs, t));
            var two = shorter.Predict(Observation.At(values, covs, t), 2);
            Assert.HasCount(2, two.Forecast);
            CollectionAssert.AreEqual(all.Forecast[..2], two.Forecast, $"step {t}");
            CollectionAssert.AreEqual(all.Lower![..2], two.Lower, $"step {t}");
            CollectionAssert.AreEqual(all.Upper![..2], two.Upper, $"step {t}");
        }

        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => shorter.Predict(Observation.At(values, covs, 0), model.Horizon + 1));
        StringAssert.Contains(e.Message, $"({model.Horizon + 1})");
        StringAssert.Contains(e.Message, $"Horizon ({model.Horizon})");
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => shorter.Predict(Observation.At(values, covs, 0), 0));
        Assert.AreEqual(values.Length, shorter.ObservationCount, "a refused call feeds nothing");
    }

    [TestMethod]
    [DataRow(HiddenCell.Dense, 50)]
    [DataRow(HiddenCell.Lstm, 50)]
    [DataRow(HiddenCell.Dense, 0)]
    [DataRow(HiddenCell.Dense, 5)]
    public void CheckPointWritesAModelZipThatModelLoadReadsAndThatResumesBitIdentically(HiddenCell cell, int split)
    {
        const int Total = 90;
        var model = ForecastTestModels.Create(cell, 2, LmuForecastScaling.PerWindow);
        var (values, covs) = ForecastTestModels.Series(Total, 2);
        var ml = new MLContext(1);
        using var transformer = Transformer(model);
        var whole = transformer.CreateTimeSeriesEngine<Observation, Prediction>(ml);
        var first = transformer.CreateTimeSeriesEngine<Observation, Prediction>(ml);
        for (var t = 0; t < split; t++)
        {
            CollectionAssert.AreEqual(whole.Predict(Observation.At(values, covs, t)).Forecast, first.Predict(Observation.At(values, covs, t)).Forecast);
        }

        var zip = Path.Combine(_dir, "checkpoint.zip");
        first.CheckPoint(ml, zip);

        // A fresh context, as a serving process would have.
        var resumed = LmuForecastTimeSeriesEngine.Load<Observation, Prediction>(new MLContext(2), zip);
        Assert.AreEqual(split, resumed.ObservationCount);
        Assert.AreEqual(model.Fingerprint, resumed.ModelFingerprint);
        Assert.AreEqual("Value", resumed.SeriesColumnName);
        for (var t = split; t < Total; t++)
        {
            var expected = whole.Predict(Observation.At(values, covs, t));
            var actual = resumed.Predict(Observation.At(values, covs, t));
            CollectionAssert.AreEqual(expected.Forecast, actual.Forecast, $"{cell} step {t}");
            CollectionAssert.AreEqual(expected.Lower, actual.Lower, $"{cell} step {t} lower");
            CollectionAssert.AreEqual(expected.Upper, actual.Upper, $"{cell} step {t} upper");
        }
    }

    [TestMethod]
    public void TheCheckpointZipIsAnOrdinaryModelThatScoresTheWindowLayoutAsTheFittedModel()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.PerWindow);
        var (values, covs) = ForecastTestModels.Series(60, 2);
        var ml = new MLContext(1);
        using var transformer = Transformer(model);
        var engine = transformer.CreateTimeSeriesEngine<Observation, Prediction>(ml);
        for (var t = 0; t < 30; t++)
        {
            engine.Predict(Observation.At(values, covs, t));
        }

        var zip = Path.Combine(_dir, "checkpoint.zip");
        engine.CheckPoint(ml, zip);
        var windows = LmuForecastWindows.FromSeries(SeriesView.Create(ml, values, covs), "Value", model.WindowSize, 1, model.CovariateColumns);
        var loaded = ml.Model.Load(zip, out var inputSchema);
        try
        {
            Assert.IsInstanceOfType<TransformerChain<ITransformer>>(loaded);
            var scored = loaded.Transform(windows);
            Assert.IsNull(scored.Schema.GetColumnOrNull(ForecastEngineStateOnnx.StateColumn), "the state column is dropped");
            var fitted = transformer.Transform(windows);
            foreach (var column in new[] { "Forecast", "Lower", "Upper" })
            {
                var expected = fitted.GetColumn<float[]>(column).ToArray();
                var actual = scored.GetColumn<float[]>(column).ToArray();
                Assert.HasCount(expected.Length, actual);
                for (var i = 0; i < expected.Length; i++)
                {
                    CollectionAssert.AreEqual(expected[i], actual[i], $"{column} row {i}");
                }
            }

            // The same loaded chain resumes the stream, and stays usable afterwards.
            var resumed = LmuForecastTimeSeriesEngine.FromLoadedModel<Observation, Prediction>(ml, loaded, inputSchema);
            Assert.AreEqual(30, resumed.ObservationCount);
            CollectionAssert.AreEqual(engine.Predict(Observation.At(values, covs, 30)).Forecast, resumed.Predict(Observation.At(values, covs, 30)).Forecast);
            Assert.HasCount(windows.GetColumn<float[]>("Window").Count(), loaded.Transform(windows).GetColumn<float[]>("Forecast").ToArray());
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    [TestMethod]
    public void CheckPointReplacesAnEarlierCheckpointAndLeavesNoTempFiles()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.Global);
        var (values, _) = ForecastTestModels.Series(30, 0);
        var ml = new MLContext(1);
        using var transformer = Transformer(model);
        var engine = transformer.CreateTimeSeriesEngine<Plain, PlainPrediction>(ml);
        var zip = Path.Combine(_dir, "c.zip");
        engine.CheckPoint(ml, zip);
        foreach (var v in values)
        {
            engine.Predict(new Plain { Value = v });
        }

        engine.CheckPoint(ml, zip);
        Assert.AreEqual(30, LmuForecastTimeSeriesEngine.Load<Plain, PlainPrediction>(ml, zip).ObservationCount);
        CollectionAssert.AreEqual(new[] { "c.zip" }, Directory.GetFiles(_dir).Select(Path.GetFileName).ToArray());

        // A folder that cannot be written is named, not the temp file the write would have used (found by QA).
        var missing = Path.Combine(_dir, "no-such-folder", "c.zip");
        var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => engine.CheckPoint(ml, missing));
        Assert.AreEqual($"Could not write '{missing}': the folder '{Path.GetDirectoryName(missing)}' does not exist.", e.Message);
        CollectionAssert.AreEqual(new[] { "c.zip" }, Directory.GetFiles(_dir, "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToArray());
    }

    [TestMethod]
    public void AZipWithoutEngineStateIsRefusedWithAClearMessage()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.Global);
        var ml = new MLContext(1);
        var zip = Path.Combine(_dir, "model.zip");
        ForecastTestModels.SaveAsBefore040(ml, model, zip);

        var e = Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastTimeSeriesEngine.Load<Plain, PlainPrediction>(ml, zip));
        StringAssert.Contains(e.Message, "carries no forecast engine state: it is not a forecaster, or a forecaster fitted before Lmu.MLNet 0.4.0");
        StringAssert.Contains(e.Message, zip);
        e = Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastEngineModel.Load(zip));
        StringAssert.Contains(e.Message, $"'{zip}' carries no forecast engine state");
        var missing = Path.Combine(_dir, "absent.zip");
        var notFound = Assert.ThrowsExactly<FileNotFoundException>(() => LmuForecastTimeSeriesEngine.Load<Plain, PlainPrediction>(ml, missing));
        StringAssert.Contains(notFound.Message, missing);
        var notZip = Path.Combine(_dir, "not.zip");
        File.WriteAllText(notZip, "hello");
        e = Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastTimeSeriesEngine.Load<Plain, PlainPrediction>(ml, notZip));
        StringAssert.Contains(e.Message, notZip);
    }

    [TestMethod]
    public void AFittedForecastersOwnZipStartsStreamsEqualToTheFittedModelsEngines()
    {
        // Upgrade QA: a forecaster saved with mlContext.Model.Save could not start a stream; only the fitted transformer,
        // an engine checkpoint or a typed CheckPoint zip could. Its zip now carries a start-of-stream engine.
        var ml = new MLContext(1);
        var (values, covs) = ForecastTestModels.Series(90, 2);
        using var model = ml.Forecasting.ForecastByLmu(new LmuForecastingOptions
        {
            SeriesColumnName = "Value", CovariateColumnNames = ["Cov0", "Cov1"], WindowSize = 16, Horizon = 4,
            LowerBoundColumnName = "Lower", UpperBoundColumnName = "Upper",
            Training = new LmuTrainingOptions { Epochs = 1, BatchSize = 32, Seed = 3 },
        }).Fit(SeriesView.Create(ml, values, covs));
        var windows = LmuForecastWindows.FromSeries(SeriesView.Create(ml, values, covs), "Value", 16, 1, ["Cov0", "Cov1"]);
        var zip = Path.Combine(_dir, "forecaster.zip");
        ml.Model.Save(model, windows.Schema, zip);

        var typed = LmuForecastTimeSeriesEngine.Load<Observation, Prediction>(new MLContext(9), zip);
        Assert.AreEqual("Value", typed.SeriesColumnName, "the series column Fit read");
        Assert.AreEqual(0, typed.ObservationCount);
        Assert.AreEqual(model.Info.ModelFingerprint, typed.ModelFingerprint);
        var fromModel = LmuForecastEngineModel.Load(zip);
        Assert.AreEqual(model.Info.ModelFingerprint, fromModel.Fingerprint);
        var untyped = fromModel.CreateEngine();
        var loaded = ml.Model.Load(zip, out var inputSchema);
        var fromLoaded = LmuForecastTimeSeriesEngine.FromLoadedModel<Observation, Prediction>(ml, loaded, inputSchema);
        var fitted = model.CreateEngine();
        var ready = 0;
        for (var t = 0; t < values.Length; t++)
        {
            var expected = fitted.Observe(values[t], covs[0][t], covs[1][t]);
            var p = typed.Predict(Observation.At(values, covs, t));
            var q = fromLoaded.Predict(Observation.At(values, covs, t));
            var f = untyped.Observe(values[t], covs[0][t], covs[1][t]);
            CollectionAssert.AreEqual(expected?.Forecast ?? Enumerable.Repeat(float.NaN, 4).ToArray(), p.Forecast, $"step {t}: typed engine from the zip");
            CollectionAssert.AreEqual(p.Forecast, q.Forecast, $"step {t}: typed engine from the loaded model");
            CollectionAssert.AreEqual(expected?.Forecast, f?.Forecast, $"step {t}: untyped engine from the zip");
            CollectionAssert.AreEqual(expected?.UpperBound, f?.UpperBound, $"step {t}: bounds");
            ready += expected is null ? 0 : 1;
        }

        Assert.AreEqual(values.Length - 15, ready);
        // The carrier's column never reaches the scored rows, and the zip scores as the fitted model.
        var scored = loaded.Transform(windows);
        Assert.IsNull(scored.Schema.GetColumnOrNull("lmu.ForecastEngineState"));
        CollectionAssert.AreEqual(
            model.Transform(windows).GetColumn<float[]>("Forecast").SelectMany(v => v).ToArray(),
            scored.GetColumn<float[]>("Forecast").SelectMany(v => v).ToArray());
        (loaded as IDisposable)?.Dispose();
    }

    [TestMethod]
    public void AForecasterSavedWithItsSeriesRowsSchemaStartsAStreamFromTheFile()
    {
        // Regression QA: ML.NET's usual Model.Save(model, data.Schema, path) saves the series rows' schema, which has no
        // window column, so the chain could not be run to read the state: the zip was called one without a state, of a
        // version before 0.4.0. The file-based loads read the state from the file; FromLoadedModel names the fix.
        var ml = new MLContext(1);
        var (values, covs) = ForecastTestModels.Series(80, 1);
        var data = SeriesView.Create(ml, values, covs);
        using var model = ml.Forecasting.ForecastByLmu(new LmuForecastingOptions
        {
            SeriesColumnName = "Value", CovariateColumnNames = ["Cov0"], WindowSize = 12, Horizon = 3,
            Training = new LmuTrainingOptions { Epochs = 1, BatchSize = 32, Seed = 4 },
        }).Fit(data);
        var zip = Path.Combine(_dir, "series-schema.zip");
        ml.Model.Save(model, data.Schema, zip);

        var typed = LmuForecastTimeSeriesEngine.Load<OneCovariate, Prediction>(ml, zip);
        var untyped = LmuForecastEngineModel.Load(zip).CreateEngine();
        var fitted = model.CreateEngine();
        for (var t = 0; t < values.Length; t++)
        {
            var expected = fitted.Observe(values[t], covs[0][t])?.Forecast ?? Enumerable.Repeat(float.NaN, 3).ToArray();
            CollectionAssert.AreEqual(expected, typed.Predict(new OneCovariate { Value = values[t], Cov0 = covs[0][t] }).Forecast, $"step {t}: typed");
            CollectionAssert.AreEqual(expected, untyped.Observe(values[t], covs[0][t])?.Forecast ?? Enumerable.Repeat(float.NaN, 3).ToArray(), $"step {t}: untyped");
        }

        var loaded = ml.Model.Load(zip, out var schema);
        try
        {
            var e = Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastTimeSeriesEngine.FromLoadedModel<OneCovariate, Prediction>(ml, loaded, schema));
            StringAssert.Contains(e.Message, "cannot be run on the input schema it was saved with");
            StringAssert.Contains(e.Message, "LmuForecastTimeSeriesEngine.Load(mlContext, path)");
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }

        // Regression QA: a covariate named as the series column was taken without a word (every forecast wrong).
        var wrong = Assert.ThrowsExactly<ArgumentException>(() => LmuForecastTimeSeriesEngine.Load<OneCovariate, Prediction>(ml, zip, "Cov0"));
        StringAssert.Contains(wrong.Message, "The series column 'Cov0' is one of the model's covariates (Cov0)");
    }

    [TestMethod]
    public void AForecasterSavedWithoutAnInputSchemaStartsAStreamFromTheFile()
    {
        // Files QA: ML.NET's Model.Save(model, null, path) writes no schema, Model.Load then gives null, and the loads
        // failed with a bare NullReferenceException. The file-based loads read the state from the file; FromLoadedModel
        // names the fix.
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.PerWindow);
        var ml = new MLContext(1);
        var zip = Path.Combine(_dir, "no-schema.zip");
        using (var chain = LmuForecastEstimator.CreateChain(ml, model, "Value"))
        {
            ml.Model.Save(chain, null, zip);
        }

        var (values, covs) = ForecastTestModels.Series(40, 1);
        var typed = LmuForecastTimeSeriesEngine.Load<OneCovariate, Prediction>(ml, zip);
        var untyped = LmuForecastEngineModel.Load(zip).CreateEngine();
        var engine = new LmuForecastEngine(model);
        for (var t = 0; t < values.Length; t++)
        {
            var expected = engine.Observe(values[t], covs[0][t])?.Forecast ?? Enumerable.Repeat(float.NaN, model.Horizon).ToArray();
            CollectionAssert.AreEqual(expected, typed.Predict(new OneCovariate { Value = values[t], Cov0 = covs[0][t] }).Forecast, $"step {t}: typed");
            CollectionAssert.AreEqual(expected, untyped.Observe(values[t], covs[0][t])?.Forecast ?? Enumerable.Repeat(float.NaN, model.Horizon).ToArray(), $"step {t}: untyped");
        }

        var loaded = ml.Model.Load(zip, out var schema);
        try
        {
            Assert.IsNull(schema, "ML.NET gives no schema for such a zip");
            var e = Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastTimeSeriesEngine.FromLoadedModel<OneCovariate, Prediction>(ml, loaded, schema!));
            StringAssert.Contains(e.Message, "the loaded model came without an input schema (the zip was saved with mlContext.Model.Save(model, null, path))");
            StringAssert.Contains(e.Message, "LmuForecastTimeSeriesEngine.Load(mlContext, path)");
        }
        finally
        {
            (loaded as IDisposable)?.Dispose();
        }
    }

    [TestMethod]
    public void AWindowLayoutForecastersZipStartsAStreamOnceTheSeriesMemberIsNamed()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.PerWindow);
        var ml = new MLContext(1);
        var zip = Path.Combine(_dir, "windows.zip");
        var windows = LmuForecastWindows.FromSeries(SeriesView.Create(ml, ForecastTestModels.Series(20, 0).Values, []), "Value", model.WindowSize, 1);
        using (var chain = LmuForecastEstimator.CreateChain(ml, model))
        {
            ml.Model.Save(chain, windows.Schema, zip);
        }

        var e = Assert.ThrowsExactly<ArgumentException>(() => LmuForecastTimeSeriesEngine.Load<Plain, PlainPrediction>(ml, zip));
        StringAssert.Contains(e.Message, "fitted on the window layout, which records no series column: name the TIn member holding the series value (the overload with seriesColumnName)");
        Assert.AreEqual("seriesColumnName", e.ParamName);
        var typed = LmuForecastTimeSeriesEngine.Load<Plain, PlainPrediction>(ml, zip, "Value");
        var engine = new LmuForecastEngine(model);
        foreach (var v in ForecastTestModels.Series(30, 0).Values)
        {
            CollectionAssert.AreEqual(engine.Observe(v)?.Forecast ?? Enumerable.Repeat(float.NaN, model.Horizon).ToArray(), typed.Predict(new Plain { Value = v }).Forecast);
        }
    }

    [TestMethod]
    public void ADamagedStateIsRefusedByItsChecksum()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 1, LmuForecastScaling.Global);
        var engine = new LmuForecastEngine(model);
        var blob = ForecastEngineStateOnnx.Encode("Value", engine.ToPayload(), ForecastEngineStateOnnx.FormatVersion);
        var packed = new long[1 + (blob.Length + 7) / 8];
        packed[0] = blob.Length;
        var padded = new byte[(packed.Length - 1) * 8];
        blob.CopyTo(padded, 0);
        Buffer.BlockCopy(padded, 0, packed, 8, padded.Length);
        Assert.AreEqual(model.Fingerprint, ForecastEngineStateOnnx.Decode(packed, "x").Engine.ModelFingerprint);

        packed[^1] ^= 1L << 20;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ForecastEngineStateOnnx.Decode(packed, "'a.zip'"));
        StringAssert.Contains(e.Message, "SHA-256");
        StringAssert.Contains(e.Message, "'a.zip'");
        packed[0] = 1L << 40;
        Assert.ThrowsExactly<InvalidDataException>(() => ForecastEngineStateOnnx.Decode(packed, "x"));
    }

    [TestMethod]
    public void UnusableInputAndOutputTypesAreRefusedNamingTheMemberAndType()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 2, LmuForecastScaling.Global);
        using var transformer = Transformer(model);
        var ml = new MLContext(1);

        var e = Assert.ThrowsExactly<ArgumentException>(() => transformer.CreateTimeSeriesEngine<Plain, Prediction>(ml));
        StringAssert.Contains(e.Message, "covariate column 'Cov0'");
        StringAssert.Contains(e.Message, "Single (float)");
        StringAssert.Contains(e.Message, "it has none");

        e = Assert.ThrowsExactly<ArgumentException>(() => transformer.CreateTimeSeriesEngine<DoubleObservation, Prediction>(ml));
        StringAssert.Contains(e.Message, "series column 'Value'");
        StringAssert.Contains(e.Message, "'Value' is Double");

        e = Assert.ThrowsExactly<ArgumentException>(() => transformer.CreateTimeSeriesEngine<Observation, Plain>(ml));
        StringAssert.Contains(e.Message, "forecast column 'Forecast'");
        StringAssert.Contains(e.Message, "Single[] (float[])");

        e = Assert.ThrowsExactly<ArgumentException>(() => transformer.CreateTimeSeriesEngine<Observation, ReadOnlyPrediction>(ml));
        StringAssert.Contains(e.Message, "not settable");

        e = Assert.ThrowsExactly<ArgumentException>(() => transformer.CreateTimeSeriesEngine<Observation, Prediction>(ml, "Level"));
        StringAssert.Contains(e.Message, "series column 'Level'");

        // A model without a recorded series column needs one named.
        using var windowLayout = new LmuForecastTransformer(LmuForecastEstimator.CreateChain(ml, model), model, LmuForecastModelInfo.Of(model, null, null, 0, 1, "cpu", 0, new LmuTrainingResult([], 0), TimeSpan.Zero, []));
        e = Assert.ThrowsExactly<ArgumentException>(() => windowLayout.CreateTimeSeriesEngine<Observation, Prediction>(ml));
        StringAssert.Contains(e.Message, "seriesColumnName");
        Assert.AreEqual("Value", windowLayout.CreateTimeSeriesEngine<Observation, Prediction>(ml, "Value").SeriesColumnName);
    }

    [TestMethod]
    public void ANonFiniteObservationIsRefusedAndLeavesTheStateUnchanged()
    {
        var model = ForecastTestModels.Create(HiddenCell.Dense, 0, LmuForecastScaling.Global);
        using var transformer = Transformer(model);
        var engine = transformer.CreateTimeSeriesEngine<Plain, PlainPrediction>(new MLContext(1));
        engine.Predict(new Plain { Value = 1 });
        Assert.ThrowsExactly<ArgumentException>(() => engine.Predict(new Plain { Value = float.NaN }));
        Assert.AreEqual(1, engine.ObservationCount);
    }

    internal static LmuForecastTransformer Transformer(LmuForecastModel model, string? seriesIdColumn = null) =>
        new(LmuForecastEstimator.CreateChain(new MLContext(1), model, "Value"), model, LmuForecastModelInfo.Of(model, "Value", seriesIdColumn, 0, 1, "cpu", 0, new LmuTrainingResult([], 0), TimeSpan.Zero, []));

    public sealed class Observation
    {
        public float Value;

        public float Cov0 { get; set; }

        [ColumnName("Cov1")]
        public float Second { get; set; }

        public static Observation At(float[] values, float[][] covs, int t) =>
            new() { Value = values[t], Cov0 = covs.Length > 0 ? covs[0][t] : 0, Second = covs.Length > 1 ? covs[1][t] : 0 };
    }

    public sealed class Prediction
    {
        public float[] Forecast = [];

        public float[]? Lower { get; set; }

        [ColumnName("Upper")]
        public float[]? High { get; set; }

        public float[]? Upper => High;
    }

    public sealed class OneCovariate
    {
        public float Value { get; set; }

        public float Cov0 { get; set; }
    }

    public sealed class Plain
    {
        public float Value { get; set; }
    }

    public sealed class PlainPrediction
    {
        public float[] Forecast { get; set; } = [];
    }

    public sealed class DoubleObservation
    {
        public double Value { get; set; }

        public float Cov0 { get; set; }

        public float Cov1 { get; set; }
    }

    public sealed class ReadOnlyPrediction
    {
        public float[] Forecast => [];
    }
}
