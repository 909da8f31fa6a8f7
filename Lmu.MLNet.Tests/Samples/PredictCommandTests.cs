using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Samples.Cli;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The Samples app's predict command (a new process, from a copy of the app without libtorch) on the main job's model
/// shape, <c>MapValueToKey("Label")</c> + LmuClassifier: it scores without a label column, refuses NaN/Infinity naming
/// the file, line and column, and streams (memory does not grow with the number of rows).
/// </summary>
[TestClass]
public sealed class PredictCommandTests : ClassifierTestBase
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [TestMethod]
    public void TheMainJobsModelShapeScoresWithoutALabelColumn()
    {
        var (zip, rows, scores, keys, names) = MainJobShape(DelayedPatternData.Steps, 12, epochs: 20);
        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllLines(input, rows.Select(Csv));
        var output = Path.Combine(Temp, "scores.csv");
        var app = App();

        var (code, log) = SamplesApp.Run(app, Temp, Limit, "predict", "--model", zip, "--input", input, "--output", output);
        Assert.AreEqual(0, code, log);
        StringAssert.Contains(log, $"scored {rows.Length} rows");
        StringAssert.Contains(log, "'Label' given a missing value");
        StringAssert.Contains(log, "model integrity: verified");
        var lines = File.ReadAllLines(output);
        Assert.AreEqual("Score[0],Score[1],Score[2],PredictedLabel,PredictedLabelValue", lines[0]);
        Assert.HasCount(rows.Length + 1, lines);
        for (var i = 0; i < rows.Length; i++)
        {
            var parts = lines[i + 1].Split(',');
            CollectionAssert.AreEqual(scores[i], parts[..^2].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(), $"row {i}: bit-identical to in-process scoring");
            Assert.AreEqual(keys[i], uint.Parse(parts[^2], CultureInfo.InvariantCulture), $"row {i} key");
            Assert.AreEqual(names[(int)keys[i] - 1], parts[^1], $"row {i}: the class its key stands for");
        }

        Assert.IsGreaterThan(1, keys.Distinct().Count(), "the rows must predict more than one class for the names to be told apart");

        // An empty input scores nothing and says so (it was silent).
        File.WriteAllText(input, string.Empty);
        (code, log) = SamplesApp.Run(app, Temp, Limit, "predict", "--model", zip, "--input", input, "--output", output);
        Assert.AreEqual(0, code, log);
        StringAssert.Contains(log, $"note: {input} has no rows, so {output} holds the header only");
        Assert.HasCount(1, File.ReadAllLines(output));
    }

    [TestMethod]
    public void AModelWhosePredictedLabelIsTextScoresToo()
    {
        // The experiment's models map the predicted key back to the label's values, so PredictedLabel is text there:
        // predict read every PredictedLabel as a key and failed on them ("Invalid TValue: 'System.UInt32'", found by QA).
        var (zip, rows, scores, _, _) = MainJobShape(DelayedPatternData.Steps, 6, textLabel: true);
        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllLines(input, rows.Select(Csv));
        var output = Path.Combine(Temp, "scores.csv");
        var (code, log) = SamplesApp.Run(App(), Temp, Limit, "predict", "--model", zip, "--input", input, "--output", output);
        Assert.AreEqual(0, code, log);
        var lines = File.ReadAllLines(output);
        Assert.AreEqual("Score[0],Score[1],Score[2],PredictedLabel", lines[0]);
        for (var i = 0; i < rows.Length; i++)
        {
            var parts = lines[i + 1].Split(',');
            CollectionAssert.AreEqual(scores[i], parts[..^1].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(), $"row {i}");
            var best = Array.IndexOf(scores[i], scores[i].Max());
            Assert.AreEqual(DelayedPatternData.Classes[best], parts[^1], $"row {i}: the label's own value");
        }
    }

    [TestMethod]
    public void NaNAndInfinityAreRefusedNamingTheFileLineAndColumn()
    {
        var (zip, rows, _, _, _) = MainJobShape(DelayedPatternData.Steps, 3);
        var app = App();
        foreach (var bad in new[] { "NaN", "Infinity", "-Infinity", "1e39" })
        {
            var input = Path.Combine(Temp, "rows.csv");
            var values = rows[1].Select(v => v.ToString("R", CultureInfo.InvariantCulture)).ToArray();
            values[6] = bad;
            File.WriteAllLines(input, [Csv(rows[0]), string.Join(',', values), Csv(rows[2])]);
            var output = Path.Combine(Temp, "scores.csv");
            var (code, log) = SamplesApp.Run(app, Temp, Limit, "predict", "--model", zip, "--input", input, "--output", output);
            Assert.AreEqual(2, code, log);
            StringAssert.Contains(log, $"{input} line 2, column 7: value 7 of 'Features' is '{bad}'; it must be a finite number");
            Assert.IsFalse(File.Exists(output), $"nothing may be written when a row is bad ({bad})");
            Assert.IsEmpty(Directory.GetFiles(Temp, "*.partial"), "no partial output may remain");
        }
    }

    [TestMethod]
    public void TheToolKeepsNoOnnxRuntimeTelemetryUnlessTheUserAsks()
    {
        // ONNX Runtime 1.32 on Linux writes a device id and an event store under ~/.cache and a .ses file in TMPDIR at its
        // first session, to send usage events; the tool sets ORT_DISABLE_TELEMETRY=1 for itself unless the variable is set.
        var (zip, rows, _, _, _) = MainJobShape(DelayedPatternData.Steps, 3);
        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllLines(input, rows.Select(Csv));
        var app = App();

        var (unsetDeviceId, unsetSession) = TelemetryFiles(app, zip, input, value: null);
        Assert.IsFalse(unsetDeviceId, "with ORT_DISABLE_TELEMETRY unset the tool must opt out: no device id under ~/.cache");
        Assert.IsFalse(unsetSession, "with ORT_DISABLE_TELEMETRY unset the tool must opt out: no .ses file in TMPDIR");

        // The user's own value is kept, and it shows that this test can see the files: if ONNX Runtime stops writing them
        // (another version), the assertions above prove nothing until this test looks for what that version writes.
        var (keptDeviceId, keptSession) = TelemetryFiles(app, zip, input, value: "0");
        Assert.IsTrue(keptDeviceId && keptSession, "with ORT_DISABLE_TELEMETRY=0 ONNX Runtime's telemetry must stay on (device id and .ses written)");
    }

    /// <summary>Runs predict with a HOME and TMPDIR of its own and no CI markers; says whether ONNX Runtime's device id and .ses file appeared.</summary>
    private (bool DeviceId, bool Session) TelemetryFiles(string app, string zip, string input, string? value)
    {
        var run = Directory.CreateDirectory(Path.Combine(Temp, $"telemetry-{value ?? "unset"}"));
        var home = run.CreateSubdirectory("home");
        var tmp = run.CreateSubdirectory("tmp");
        var start = SamplesApp.StartInfo(app, Temp, "predict", "--model", zip, "--input", input, "--output", Path.Combine(run.FullName, "scores.csv"));
        start.Environment["HOME"] = home.FullName;
        start.Environment["TMPDIR"] = tmp.FullName + Path.DirectorySeparatorChar;
        start.Environment.Remove("XDG_CACHE_HOME");
        // ONNX Runtime turns its telemetry off by itself under these (the names its library holds), as on a CI machine.
        foreach (var ci in new[] { "CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "CIRCLECI", "TRAVIS", "JENKINS_URL", "CODEBUILD_BUILD_ID", "BUILDKITE", "TEAMCITY_VERSION", "APPVEYOR", "BITBUCKET_BUILD_NUMBER" })
        {
            start.Environment.Remove(ci);
        }

        if (value is null) start.Environment.Remove(OnnxRuntimeTelemetry.Variable);
        else start.Environment[OnnxRuntimeTelemetry.Variable] = value;
        var (code, log) = SamplesApp.Run(start, Limit);
        Assert.AreEqual(0, code, log);
        return (File.Exists(Path.Combine(home.FullName, ".cache", "Microsoft", "DeveloperTools", ".onnxruntime", "deviceid")),
            File.Exists(Path.Combine(tmp.FullName, ".ses")));
    }

    [TestMethod]
    public void MemoryDoesNotGrowWithTheNumberOfRows()
    {
        // Wide rows make held rows cost far more than the noise: 80,000 rows x 160 values are 51 MB as floats alone.
        const int width = 160;
        var (zip, rows, _, _, _) = MainJobShape(width, 8);
        var app = App();
        // Both sizes are past the start-up growth (JIT, GC budgets: flat from ~10,000 rows on when streaming; measured
        // 118.6 MB at 10,000 rows, 119.6 MB at 100,000), so a held row shows as growth. 20,000 rows rather than 10,000
        // for the baseline: a fresh clone's CI run had both 10,000-row runs at 115.0 MB (against 118.6-119.9 typically)
        // and failed the bound by 0.3 MB; 20,000 and 100,000 rows measured 119.6-120.4 and 120.9-121.3 MB.
        // Two runs of each size, interleaved, and the larger peak of each: one low run (113.6 MB at 10,000 rows once,
        // against 118.6 typically) had set the baseline and failed the bound by 0.3 MB. The same statistic on both sides.
        var small = PeakMegabytes(app, zip, rows, 20_000);
        var large = PeakMegabytes(app, zip, rows, 100_000);
        small = Math.Max(small, PeakMegabytes(app, zip, rows, 20_000));
        large = Math.Max(large, PeakMegabytes(app, zip, rows, 100_000));
        Console.WriteLine($"predict peak resident memory: {small:0.0} MB for 20,000 rows, {large:0.0} MB for 100,000 rows");
        Bound.Below(small + 6, large, $"predict must stream: peak {small:0.0} MB for 20,000 rows but {large:0.0} MB for 100,000");
    }

    /// <summary>The peak resident set (VmHWM) of a predict run over <paramref name="count"/> rows, sampled until the process ends.</summary>
    private double PeakMegabytes(string app, string zip, float[][] rows, int count)
    {
        var input = Path.Combine(Temp, $"rows-{count}.csv");
        using (var writer = new StreamWriter(input))
        {
            for (var i = 0; i < count; i++)
            {
                writer.WriteLine(Csv(rows[i % rows.Length]));
            }
        }

        var output = Path.Combine(Temp, $"scores-{count}.csv");
        using var process = Process.Start(SamplesApp.StartInfo(app, Temp, "predict", "--model", zip, "--input", input, "--output", output))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long peakKb = 0;
        var clock = Stopwatch.StartNew();
        while (!process.WaitForExit(20))
        {
            peakKb = Math.Max(peakKb, HighWaterKb(process.Id));
            if (clock.Elapsed > Limit)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"predict over {count} rows did not finish within {Limit}");
            }
        }

        Assert.AreEqual(0, process.ExitCode, stdout.Result + stderr.Result);
        Assert.HasCount(count + 1, File.ReadLines(output).ToArray());
        File.Delete(input);
        return peakKb / 1024.0;
    }

    private static long HighWaterKb(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0; // the process ended between the check and the read
        }
    }

    /// <summary>The main job's pipeline (MapValueToKey("Label") + LmuClassifier), trained for one epoch, saved with a text Label in its input schema.</summary>
    private (string Zip, float[][] Rows, float[][] Scores, uint[] Keys, string[] Names) MainJobShape(int width, int testRows, bool textLabel = false, int epochs = 1)
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("reads /proc");
        }

        var ml = ClassifierSetup.Context(MlTemp);
        var rng = new Random(3);
        var train = Enumerable.Range(0, 36).Select(i => new WideRow
        {
            Label = DelayedPatternData.Classes[i % 3],
            Features = Enumerable.Range(0, width).Select(t => (float)(rng.NextDouble() - 0.5) + (t < 4 ? i % 3 : 0)).ToArray(),
        }).ToList();
        var definition = SchemaDefinition.Create(typeof(WideRow));
        definition[nameof(WideRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, width);
        var data = ml.Data.LoadFromEnumerable(train, definition);
        var test = train.Take(testRows).Select(r => new WideRow { Features = r.Features }).ToList();
        var zip = Path.Combine(Temp, "model.zip");
        var estimator = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs)));
        ITransformer model = textLabel
            ? estimator.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel")).Fit(data)
            : estimator.Fit(data);
        using var owner = (IDisposable)model;
        ml.Model.Save(model, data.Schema, zip);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(test, definition));
        var keys = textLabel ? [] : scored.GetColumn<uint>("PredictedLabel").ToArray();
        VBuffer<ReadOnlyMemory<char>> names = default;
        if (!textLabel)
        {
            scored.Schema["PredictedLabel"].GetKeyValues(ref names);
        }

        return (zip, test.Select(r => r.Features).ToArray(), scored.GetColumn<float[]>("Score").ToArray(), keys, names.DenseValues().Select(n => n.ToString()).ToArray());
    }

    private string App() => SamplesApp.CopyWithoutTorch(SamplesApp.Output(), Path.Combine(Temp, "app"));

    private static string Csv(float[] values) => string.Join(',', values.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

    private sealed class WideRow
    {
        public string Label { get; set; } = string.Empty;

        public float[] Features { get; set; } = [];
    }
}
