using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>Every command of the Samples app fails with one line on stderr and exit code 2; the stack trace only with --verbose.</summary>
[TestClass]
public sealed class CommandErrorTests : ClassifierTestBase
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(1);

    [TestMethod]
    public void AMissingModelIsOneLineNamingTheFileAndExitCodeTwo()
    {
        var app = App();
        var model = Path.Combine(Temp, "absent.zip");
        var (code, stdout, stderr) = Run(app, "predict", "--model", model, "--input", "in.csv", "--output", "out.csv");
        Assert.AreEqual(2, code, stdout + stderr);
        var line = SingleLine(stderr);
        StringAssert.Contains(line, $"'{model}' does not exist");
        StringAssert.Contains(line, "--verbose");

        (code, _, stderr) = Run(app, "predict", "--model", model, "--input", "in.csv", "--output", "out.csv", "--verbose");
        Assert.AreEqual(2, code);
        StringAssert.Contains(stderr, "   at ", "--verbose prints the stack trace");
    }

    [TestMethod]
    public void PredictRefusesToWriteOverItsInput()
    {
        // Found by QA: predict --input x --output x replaced the features with the scores. Refused before the model loads.
        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllText(input, "1,2,3\n");
        var app = App();
        var (code, stdout, stderr) = Run(app, "predict", "--model", Path.Combine(Temp, "absent.zip"), "--input", input, "--output", Path.Combine(Temp, ".", "rows.csv"));
        Assert.AreEqual(2, code, stdout + stderr);
        StringAssert.Contains(SingleLine(stderr), "is the --input file; writing there would replace the rows being read");
        Assert.AreEqual("1,2,3\n", File.ReadAllText(input));

        // Through a linked folder (found by QA: only a link in the last part was resolved, and the input was overwritten).
        var real = Directory.CreateDirectory(Path.Combine(Temp, "real", "sub")).FullName;
        var inside = Path.Combine(real, "rows.csv");
        File.WriteAllText(inside, "1,2,3\n");
        var link = Path.Combine(Temp, "linkdir");
        Directory.CreateSymbolicLink(link, real);
        (code, stdout, stderr) = Run(app, "predict", "--model", Path.Combine(Temp, "absent.zip"), "--input", Path.Combine(link, "rows.csv"), "--output", inside);
        Assert.AreEqual(2, code, stdout + stderr);
        StringAssert.Contains(SingleLine(stderr), "is the --input file; writing there would replace the rows being read");
        Assert.AreEqual("1,2,3\n", File.ReadAllText(inside));
    }

    [TestMethod]
    public void AFullStandardOutputIsNamedAsSuch()
    {
        // Found by the environment QA: `classify >/dev/full` said "No space left on device" and `serve >&-` "Access to
        // the path is denied", as if a file the command writes were at fault.
        if (!File.Exists("/dev/full"))
        {
            Assert.Inconclusive("needs /dev/full");
        }

        var train = CliFiles.Classification(Path.Combine(Temp, "train.csv"), rowsPerClass: 6, steps: 12, seed: 1);
        // The whole app: the copy without torch fails at the torch thread count, before the first line is written.
        var dll = Path.Combine(SamplesApp.Output(), "Lmu.MLNet.Samples.dll");
        var start = new ProcessStartInfo("bash", ["-c", $"dotnet '{dll}' classify --train '{train}' --label label --output '{Path.Combine(Temp, "out")}' > /dev/full"])
        {
            RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Temp,
        };
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        Assert.IsTrue(process.WaitForExit(Limit));
        Assert.AreEqual(2, process.ExitCode, stderr);
        StringAssert.Contains(SingleLine(stderr), "error: standard output cannot be written (No space left on device): it is closed or its device is full");
    }

    [TestMethod]
    public void AnErrorWithAFullStandardErrorStillExitsWithItsCode()
    {
        // Limits QA: when standard error could not be written (a full device, no file descriptor left), the error line's
        // own failure ended the process with an unhandled exception, exit 134.
        if (!File.Exists("/dev/full"))
        {
            Assert.Inconclusive("needs /dev/full");
        }

        var dll = Path.Combine(SamplesApp.Output(), "Lmu.MLNet.Samples.dll");
        var missing = Path.Combine(Temp, "absent.zip");
        var start = new ProcessStartInfo("bash", ["-c", $"dotnet '{dll}' predict --model '{missing}' --input '{missing}.csv' 2> /dev/full"])
        {
            RedirectStandardOutput = true, UseShellExecute = false, WorkingDirectory = Temp,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEnd();
        Assert.IsTrue(process.WaitForExit(Limit));
        Assert.AreEqual(2, process.ExitCode, stdout);
    }

    [TestMethod]
    public void PredictRefusesToWriteOverItsModel()
    {
        // Found by QA: predict --model m.zip --output m.zip replaced the model with the scores, exit 0. Refused before it loads.
        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllText(input, "1,2,3\n");
        var model = Path.Combine(Temp, "m.zip");
        File.WriteAllText(model, "not read");
        var (code, stdout, stderr) = Run(App(), "predict", "--model", model, "--input", input, "--output", Path.Combine(Temp, ".", "m.zip"));
        Assert.AreEqual(2, code, stdout + stderr);
        StringAssert.Contains(SingleLine(stderr), "is the --model file; writing there would replace the model");
        Assert.AreEqual("not read", File.ReadAllText(model));
    }

    [TestMethod]
    public void PredictOnATrainingFileSaysItReadsNoHeaderAndNoLabel()
    {
        // Found by QA: given the file it trained on, predict said "line 1: 25 values; the model expects 24" and no more.
        var ml = ClassifierSetup.Context(MlTemp);
        var rows = DelayedPatternData.Rows(30, 6);
        var data = ml.Data.LoadFromEnumerable(rows);
        var zip = Path.Combine(Temp, "model.zip");
        using (var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 1)).Fit(data))
        {
            LmuModelFile.Save(ml, model, data.Schema, zip);
        }

        var width = rows[0].Features.Length;
        var withHeader = Path.Combine(Temp, "train.csv");
        File.WriteAllLines(withHeader, new[] { "label," + string.Join(',', Enumerable.Range(0, width).Select(i => $"t{i}")) }
            .Concat(rows.Select(r => r.Label + "," + string.Join(',', r.Features.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))))));
        var labelled = Path.Combine(Temp, "labelled.csv");
        File.WriteAllLines(labelled, rows.Select(r => "1," + string.Join(',', r.Features.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))));
        var tabbed = Path.Combine(Temp, "tabbed.tsv");
        File.WriteAllLines(tabbed, rows.Select(r => string.Join('\t', r.Features.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))));
        var spaced = Path.Combine(Temp, "spaced.txt");
        File.WriteAllLines(spaced, rows.Select(r => string.Join(' ', r.Features.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))));
        var commas = Path.Combine(Temp, "commas.csv");
        File.WriteAllLines(commas, rows.Select(r => string.Join(';', r.Features.Select(v => (v + 0.5f).ToString("F2", System.Globalization.CultureInfo.GetCultureInfo("de-DE"))))));
        var app = App();
        foreach (var (input, expected) in new[]
        {
            (withHeader, "The line holds text ('label'): predict reads rows of numbers only"),
            (labelled, "One value too many: predict reads no label column"),
            // Found by QA: a TSV got "The line holds text" with no word of the separator.
            (tabbed, "predict reads values separated by ',' (this line has tabs)"),
            (spaced, "predict reads values separated by ',' (this line has spaces)"),
            // Found by the environment QA: named as text ('25;0'), not as a decimal comma.
            (commas, "The line has ';' between values and ',' inside them, as a decimal comma"),
        })
        {
            var (code, stdout, stderr) = Run(app, "predict", "--model", zip, "--input", input, "--output", Path.Combine(Temp, "scores.csv"));
            Assert.AreEqual(2, code, stdout + stderr);
            StringAssert.Contains(SingleLine(stderr), expected);
        }

        // The features alone score, and the output says which class each PredictedLabel key is (found by QA).
        var features = Path.Combine(Temp, "features.csv");
        File.WriteAllLines(features, File.ReadAllLines(labelled).Select(l => l[2..]));
        var (ok, log, errors) = Run(app, "predict", "--model", zip, "--input", features, "--output", Path.Combine(Temp, "scores.csv"));
        Assert.AreEqual(0, ok, log + errors);
        StringAssert.Contains(log, "classes: PredictedLabel 1 = Score[0] = '");
        foreach (var name in DelayedPatternData.Classes)
        {
            StringAssert.Contains(log, $"= '{name}'");
        }
    }

    [TestMethod]
    public void ThreadCountsBelowOneAndNonNumbersAreRefusedWhenTheCommandLineIsRead()
    {
        // Found by QA: --threads 0 aborted the process inside libtorch (exit 134), and a non-number for a range-checked
        // option threw from the range check, an unhandled exception with a stack trace.
        var app = App();
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["ucr", "--datasets", "Chinatown", "--models", "pooled", "--threads", "0"], "--threads 0 must be at least 1"),
            (["experiment", "--threads", "-1"], "--threads -1 must be at least 1"),
            (["experiment", "--budget", "abc"], "Cannot parse argument 'abc' for option '--budget'"),
            (["classify", "--train", "x.csv", "--epochs", "zz"], "Cannot parse argument 'zz' for option '--epochs'"),
            (["ucr", "--datasets", "Chinatown", "--models", "foo"], "--models 'foo' is not one of default, experiment, lightgbm, pooled"),
            (["psmnist", "--test-rows", "0"], "--test-rows 0 must be from 1 to 10000"),
            (["ucr-dynamics", "--datasets", "Chinatown", "--cv", "-2"], "--cv -2 must be 0 (its default) or at least 2"),
            (["soak", "--busy", "100000"], "--busy 100000 must be from 0 to"),
            // The main job's own --threads (the root command's option) still reached libtorch and aborted (QA).
            (["--threads", "0", "--epochs", "1"], "--threads 0 must be at least 1"),
        })
        {
            var (code, stdout, stderr) = Run(app, args);
            Assert.AreEqual(2, code, stdout + stderr);
            StringAssert.Contains(SingleLine(stderr), expected);
        }
    }

    [TestMethod]
    public void AFileThatIsNotAZipIsOneLine()
    {
        var model = Path.Combine(Temp, "model.zip");
        File.WriteAllText(model, "not a model");
        var (code, stdout, stderr) = Run(App(), "serve", "--model", model, "--urls", "http://127.0.0.1:0");
        Assert.AreEqual(2, code, stdout + stderr);
        var line = SingleLine(stderr);
        StringAssert.Contains(line, $"Could not load the model file '{model}': it is not a zip file");
        StringAssert.Contains(line, "To fix:");
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void AnAddressServeCannotListenOnIsOneLineNamingTheOption()
    {
        // The host logged its start failure with a stack trace before the app's own line (found by QA).
        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 1);
        var (code, stdout, stderr) = Run(App(), "serve", "--model", model.Zip, "--urls", "bogus");
        Assert.AreEqual(2, code, stdout + stderr);
        StringAssert.Contains(SingleLine(stderr), "serve could not listen on --urls 'bogus': Invalid url: 'bogus'");
    }

    [TestMethod]
    public void AHostThatIsNotAnAddressIsRefusedNotBoundToEveryInterface()
    {
        // Found by QA: a typo such as 999.1.1.1 made Kestrel listen on every interface. Checked before the model loads.
        var app = App();
        foreach (var urls in new[] { "http://999.1.1.1:5075", "http://127.0.0.1:5076;http://my-laptop:5077", "http://[::1:5078", "http://:5079" })
        {
            var (code, stdout, stderr) = Run(app, "serve", "--model", Path.Combine(Temp, "absent.zip"), "--urls", urls);
            Assert.AreEqual(2, code, stdout + stderr);
            StringAssert.Contains(SingleLine(stderr), "is not an IP address or localhost, and Kestrel would listen on every interface for it");
        }

        foreach (var urls in new[] { "http://localhost:0", "http://[::1]:0", "http://0.0.0.0:0", "http://*:0", "http://unix:/tmp/lmu.sock", "http://pipe:/lmu", "http://127.0.0.1:65535/" })
        {
            Lmu.MLNet.Samples.Serving.ServeUrls.Check(urls);
        }

        // An empty list listened on Kestrel's default, a port above 65535 failed after the model loaded (found by QA).
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => Lmu.MLNet.Samples.Serving.ServeUrls.Check(" ; ")).Message, "names no address");
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => Lmu.MLNet.Samples.Serving.ServeUrls.Check("http://127.0.0.1:99999")).Message, "port 99999 is above 65535");
        StringAssert.Contains(Assert.Throws<ArgumentException>(() => Lmu.MLNet.Samples.Serving.ServeUrls.Check("http://[::1]:70000/x")).Message, "port 70000 is above 65535");
    }

    [TestMethod]
    public void ACommandLineThatDoesNotParseIsOneLinePointingAtHelp()
    {
        var (code, stdout, stderr) = Run(App(), "predict", "--model", "m.zip", "--no-such-option");
        Assert.AreEqual(2, code, stdout + stderr);
        var line = SingleLine(stderr);
        StringAssert.Contains(line, "--no-such-option");
        StringAssert.Contains(line, "Run 'predict --help'");
    }

    [TestMethod]
    public void ANegativeValueWhereZeroMeansTheDefaultIsRefusedBeforeAnythingRuns()
    {
        // --epochs -1 trained the default 300 epochs and --pool -3 gave 4 engines (found by QA).
        var app = App();
        foreach (var args in new[] { new[] { "classify", "--train", "absent.csv", "--epochs", "-1" }, ["serve", "--model", "absent.zip", "--pool", "-3"], ["forecast", "--train", "absent.csv", "--horizon", "3", "--seasonality", "-2"] })
        {
            var (code, stdout, stderr) = Run(app, args);
            Assert.AreEqual(2, code, stdout + stderr);
            StringAssert.Contains(SingleLine(stderr), $"{args[^2]} {args[^1]} must be 0 (its default) or positive");
        }
    }

    [TestMethod]
    public void AnOutOfRangeRateBudgetOrDropoutIsRefusedInTheCommandLinesTerms()
    {
        // --budget 0 and --learning-rate -1 failed inside the library, naming its option (TimeBudget, LearningRate).
        var app = App();
        foreach (var (args, message) in new[]
                 {
                     (new[] { "classify", "--train", "absent.csv", "--model", "experiment", "--budget", "0" }, "--budget 0 must be positive and below 10000000"),
                     (["forecast", "--train", "absent.csv", "--horizon", "3", "--learning-rate", "-1"], "--learning-rate -1 must be positive (and finite)"),
                     (["experiment", "--budget", "NaN"], "--budget NaN must be positive and below 10000000"),
                     (["psmnist", "--head-dropout", "1"], "--head-dropout 1 must be 0 or more and below 1"),
                     (["psmnist", "--weight-decay", "-0.5"], "--weight-decay -0.5 must be 0 or more (and finite)"),
                 })
        {
            var (code, stdout, stderr) = Run(app, args);
            Assert.AreEqual(2, code, stdout + stderr);
            StringAssert.Contains(SingleLine(stderr), message);
        }
    }

    [TestMethod]
    public void CountsSizesPortsAndListsAreRangeCheckedWhenTheCommandLineIsRead()
    {
        // Found by QA: these reached the library (or ran nothing) and failed in its terms, or not at all
        // (`ucr --datasets ""` exited 0, `bench-featurize --peer-threads 0` blamed a missing torch).
        var app = App();
        var file = Path.Combine(Temp, "a-file");
        File.WriteAllText(file, "x");
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["bench", "--samples", "0"], "--samples 0 must be at least 1"),
            (["bench", "--configs", "ff_dense,lstm"], "--configs 'lstm' is not one of ff_dense, ff_rnn, rnn_cell"),
            (["bench-curve", "--lengths", "196,0"], "--lengths '0': expected comma-separated whole numbers of at least 1"),
            (["bench-featurize", "--peer-threads", "0"], "--peer-threads 0 must be at least 1"),
            (["fleet", "--in-flight", "0"], "--in-flight 0 must be at least 1"),
            (["fleet", "--silo-port", "70000"], "--silo-port 70000 must be from 1 to 65535"),
            (["mackey-glass", "--window", "102"], "--window 102 must be from 1 to 101"),
            (["bike-sharing", "--batch-size", "0"], "--batch-size 0 must be at least 1"),
            (["m4-hourly", "--learning-rate", "0"], "--learning-rate 0 must be positive (and finite)"),
            (["scale", "--sizes", ","], "--sizes ',': expected comma-separated whole numbers of at least 1 (at least one); an entry is empty"),
            (["serve", "--model", "absent.zip", "--max-body-bytes", "-1"], "--max-body-bytes -1 must be at least 0"),
            (["soak", "--fits", "0"], "--fits 0 must be at least 1"),
            (["ucr", "--datasets", ""], "--datasets is empty: give at least one name"),
            (["ucr-dynamics", "--seeds", "1,x"], "--seeds 'x': expected comma-separated whole numbers (at least one)"),
            (["psmnist", "--batch-size", "0"], "--batch-size 0 must be at least 1"),
            // Found by the regression QA: these ran a default, ran nothing, or failed after loading data.
            (["classify", "--train", "absent.csv", "--folds", "-2"], "--folds -2 must be 0 (its default) or at least 2"),
            (["ucr-dynamics", "--cv", "1"], "--cv 1 must be 0 (its default) or at least 2"),
            (["psmnist", "--head", "10,-1"], "--head '-1': expected comma-separated whole numbers of at least 1"),
            (["experiment", "--budget", "1e12"], "--budget 1000000000000 must be positive and below 10000000"),
            (["predict", "--model", "absent.zip", "--input", "absent.csv", "--output", "out.csv", "--channels", "0"], "--channels 0 must be at least 1"),
            // Found by the seventeenth session's regression QA: an empty column name failed in ML.NET's words after loading.
            (["predict", "--model", "absent.zip", "--input", "absent.csv", "--output", "out.csv", "--features", ""], "--features is empty: give a column name"),
            (["predict", "--model", "absent.zip", "--input", "absent.csv", "--output", "out.csv", "--length-column", " "], "--length-column is empty: give a column name"),
            (["classify", "--train", "absent.csv", "--label", ""], "--label is empty: give a column name or number"),
            // Names compare as the commands compare them ('Default' passed a case-blind check and ran nothing).
            (["ucr", "--datasets", "Chinatown", "--models", "Default"], "--models 'Default' is not one of default, experiment, lightgbm, pooled"),
            // Found by the nineteenth session's QA: a missing peer script ran without its peer; 0 validation rows failed after loading.
            (["bench-curve", "--peer-script", "/nonexistent-peer.py"], "--peer-script '/nonexistent-peer.py' does not exist"),
            (["bench", "--peer-script", "/tmp"], "--peer-script '/tmp' is a folder; give the file"),
            // Files QA: --json was written after the whole bench, in place (a full disk cut the earlier file short), and a
            // folder or a missing folder failed only then.
            (["bench", "--json", "/tmp"], "--json '/tmp' is a folder; give the file's path"),
            (["bench", "--json", "/nonexistent-folder/b.json"], "Could not write --json '/nonexistent-folder/b.json': the folder '/nonexistent-folder' does not exist"),
            (["psmnist", "--validation-rows", "0"], "--validation-rows 0 must be from 1 to 10000"),
            (["bench-latency", "--steps", "100000000"], "--steps 100000000 must be from 1 to 100000"),
            (["bench-latency", "--warmup", "-1"], "--warmup -1 must be at least 0"),
            (["bench-featurize", "--order", "1"], "--order 1 must be from 2 to 64"),
            // API QA: nothing bounded a layer's order; building one took 95 s at 2,000.
            (["forecast", "--train", "absent.csv", "--horizon", "4", "--order", "2000"], "--order 2000 must be from 0 to 1024"),
            (["psmnist", "--order", "1025"], "--order 1025 must be from 1 to 1024"),
            (["psmnist", "--autograd-theta"], "--autograd-theta applies with --learn theta alone"),
            // Found by the nineteenth session's CLI QA: an empty entry was dropped (`--head ,,` ran an empty head), and a
            // variant's suffix given twice ran with one of them.
            (["psmnist", "--head", ",,"], "--head ',,': expected comma-separated whole numbers of at least 1 (or none); an entry is empty"),
            // Found by the twentieth session's review: name lists dropped empty entries too.
            (["bench", "--configs", "ff_dense,,ff_rnn"], "--configs 'ff_dense,,ff_rnn' has an empty entry; each must be one of ff_dense, ff_rnn, rnn_cell"),
            (["ucr", "--datasets", "Coffee,,Wine"], "--datasets 'Coffee,,Wine' has an empty entry: give comma-separated names"),
            (["psmnist", "--learn", "theta,,a"], "error: --learn 'theta,,a' has an empty entry; expected a comma-separated list of theta, a, b"),
            // Found by the twentieth session's docs QA: 0 was named as the default of options whose default is not 0, and
            // a cell with the default 0 units trained one unit.
            (["bench", "--warmup", "-1"], "--warmup -1 must be at least 0"),
            (["bench", "--scan-keep-all-mib", "-1"], "--scan-keep-all-mib -1 must be at least 0"),
            (["psmnist", "--cell", "Dense"], "--cell Dense needs --units of at least 1"),
            (["ucr-dynamics", "--seeds", "1,,2"], "--seeds '1,,2': expected comma-separated whole numbers (at least one); an entry is empty"),
            // The main job's --output that is a file: refused before training (QA: after the whole Fit); one line with the
            // app's "error:" prefix, and a hint that fits what was passed.
            (["--dataset", "digits", "--epochs", "50", "--output", file], $"error: --output '{file}' is a file; give a folder"),
            (["--dataset", "NoSuchSet", "--epochs", "1"], "error: "),
            (["psmnist", "--data", file], $"error: --data '{file}' is not a folder"),
        })
        {
            var (code, stdout, stderr) = Run(app, args);
            Assert.AreEqual(2, code, string.Join(' ', args) + ": " + stdout + stderr);
            StringAssert.Contains(SingleLine(stderr), expected, string.Join(' ', args));
        }

    }

    [TestMethod]
    public void AMissingValueInsideARowIsRefusedByUcrAndExperiment()
    {
        // QA: the pooled and LightGBM models scored such rows silently (NaN features or missing ones) and printed a
        // slightly lower accuracy; the networks refused them. A generated set, so no shared data is needed.
        var shared = Path.Combine(Temp, "shared");
        var folder = Path.Combine(shared, "data", "ucr", "Tiny");
        Directory.CreateDirectory(folder);
        var rng = new Random(3);
        string Line(int i, bool hole) => string.Join('\t', new[] { (1 + (i % 2)).ToString(System.Globalization.CultureInfo.InvariantCulture) }
            .Concat(Enumerable.Range(0, 20).Select(t => hole && t == 2 ? "NaN" : (rng.NextDouble() + (i % 2) * (t > 10 ? 1 : 0)).ToString("R", System.Globalization.CultureInfo.InvariantCulture))));
        File.WriteAllLines(Path.Combine(folder, "Tiny_TRAIN.tsv"), Enumerable.Range(0, 12).Select(i => Line(i, false)));
        File.WriteAllLines(Path.Combine(folder, "Tiny_TEST.tsv"), Enumerable.Range(0, 12).Select(i => Line(i, i == 4)));
        // The ucr command's table of published accuracies (its header; no row for the made-up set).
        File.WriteAllText(Path.Combine(shared, "data", "ucr", "published_accuracy.csv"),
            "dataset,n_train,n_test,classes,length,1NN_ED_acc,1NN_DTW_learned_w_acc,1NN_DTW_full_acc,ROCKET_mean_acc,InceptionTime_acc\n");
        var app = SamplesApp.Output(); // the commands set torch's threads first
        foreach (var args in new[] { new[] { "ucr", "--datasets", "Tiny", "--models", "pooled" }, ["experiment", "--dataset", "Tiny", "--budget", "5"] })
        {
            var (code, stdout, stderr) = RunWithShared(app, shared, args);
            Assert.AreEqual(2, code, string.Join(' ', args) + ": " + stdout + stderr);
            StringAssert.Contains(SingleLine(stderr), "Tiny TEST row 5: step 3 of 20 is a missing value (NaN); these models need complete rows", string.Join(' ', args));
        }

        // Every name is looked for before the first set is read (QA: an unknown second name failed after the first trained).
        var (missingCode, missingOut, missingErr) = RunWithShared(app, shared, "ucr", "--datasets", "Tiny,Nope", "--models", "pooled");
        Assert.AreEqual(2, missingCode, missingOut + missingErr);
        StringAssert.Contains(SingleLine(missingErr), "error: no UCR set 'Nope' in ");
    }

    [TestMethod]
    public void ABadValueInAForecastingSamplesFileIsNamedByFileLineAndColumn()
    {
        // QA: "The input string 'abc' was not in a correct format" and "Offset and length were out of bounds", naming nothing.
        var shared = Path.Combine(Temp, "shared-forecasting");
        var folder = Path.Combine(shared, "data", "forecasting");
        Directory.CreateDirectory(Path.Combine(folder, "m4_hourly"));
        var bike = Path.Combine(folder, "bike_sharing_daily.csv");
        File.WriteAllLines(bike, ["RentalDate,Year,TotalRentals", "2011-01-01,0,985", "2011-01-02,0,abc"]);
        File.WriteAllLines(Path.Combine(folder, "m4_hourly", "Hourly-train.csv"), ["\"V1\",\"V2\",\"V3\"", "\"H1\",1,2", "\"H2\",3,4"]);
        File.WriteAllLines(Path.Combine(folder, "m4_hourly", "Hourly-test.csv"), ["\"V1\",\"V2\",\"V3\"", "\"H1\",1,2"]);
        var app = SamplesApp.Output(); // the commands set torch's threads first
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["bike-sharing", "--epochs", "1"], "bike_sharing_daily.csv line 3, column 3: 'abc' is not a finite number"),
            (["m4-hourly", "--epochs", "1"], "m4_hourly/Hourly-test.csv holds 1 series, fewer than the 2 training series used"),
        })
        {
            var (code, stdout, stderr) = RunWithShared(app, shared, args);
            Assert.AreEqual(2, code, string.Join(' ', args) + ": " + stdout + stderr);
            StringAssert.Contains(SingleLine(stderr), expected, string.Join(' ', args));
        }

        // More series asked for than the file holds: said on stderr (QA: capped silently), then the same pairing check.
        var (capCode, capOut, capErr) = RunWithShared(app, shared, "m4-hourly", "--epochs", "1", "--series", "5");
        Assert.AreEqual(2, capCode, capOut + capErr);
        StringAssert.Contains(capErr, "note: --series 5 is more than the 2 series of m4_hourly/Hourly-train.csv; all 2 are used.");
        StringAssert.Contains(capErr, "holds 1 series, fewer than the 2 training series used");
    }

    [TestMethod]
    public void MoreCrossValidationFoldsThanASetHasRowsIsRefusedBeforeAnyTraining()
    {
        // Found by QA: a fold was empty and the set's accuracy printed NaN.
        var shared = Path.GetDirectoryName(Path.GetDirectoryName(SharedData.Directory("ucr")))!;
        var (code, stdout, stderr) = RunWithShared(App(), shared, "ucr-dynamics", "--datasets", "ItalyPowerDemand,Chinatown", "--cv", "21");
        Assert.AreEqual(2, code, stdout + stderr);
        StringAssert.Contains(SingleLine(stderr), "--cv 21: Chinatown has 20 training rows, so at most 20 folds");
        Assert.DoesNotContain("ItalyPowerDemand ", stdout, "nothing trains before the refusal");
    }

    [TestMethod]
    public void AVariantThatRepeatsASuffixIsRefusedBeforeAnyTraining()
    {
        // Found by QA: `fixed+std+std` and `+ens2+ens3` ran with one of the two silently.
        var shared = Path.GetDirectoryName(Path.GetDirectoryName(SharedData.Directory("ucr")))!;
        var app = App();
        foreach (var variant in new[] { "fixed+std+std", "fixed+ens2+ens3", "fixed+lr0.01+shift+lr0.02" })
        {
            var (code, stdout, stderr) = RunWithShared(app, shared, "ucr-dynamics", "--datasets", "Chinatown", "--variants", variant);
            Assert.AreEqual(2, code, variant + ": " + stdout + stderr);
            StringAssert.Contains(SingleLine(stderr), $"error: unknown variant(s) {variant}; known:", variant);
            StringAssert.Contains(stderr, "each at most once", variant);
        }
    }

    private static string SingleLine(string stderr)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.HasCount(1, lines, $"one line expected on stderr, got:\n{stderr}");
        Assert.IsFalse(lines[0].Contains("   at ", StringComparison.Ordinal), "no stack trace without --verbose");
        return lines[0];
    }

    [TestMethod]
    public void AFullDiskLeavesNoCutOffPlotOrModel()
    {
        // QA: the main job, psmnist, bike-sharing and bench-curve wrote their PNGs and zips in place, so a full disk left
        // a cut-off file (a 4,096-byte confusion.png, an 8,192-byte model.zip) over a good one from an earlier run.
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("mounts a tmpfs");
        }

        var app = SamplesApp.Output(); // it trains: libtorch is needed
        var failed = 0;
        foreach (var kib in new[] { 8, 24, 64 })
        {
            var mount = Path.Combine(Temp, $"full-{kib}");
            Directory.CreateDirectory(mount);
            if (Mount(kib, mount) != 0)
            {
                Assert.Inconclusive("cannot mount a tmpfs here (needs root and a kernel that allows it)");
            }

            try
            {
                var (code, stdout, stderr) = Run(app, "--dataset", "digits", "--epochs", "1", "--output", Path.Combine(mount, "out"));
                failed += code == 2 && stderr.Contains("No space left on device", StringComparison.Ordinal) ? 1 : 0;
                Assert.IsTrue(code is 0 or 2, $"{kib} KiB: exit {code}: {stdout}{stderr}");
                foreach (var file in Directory.GetFiles(mount, "*", SearchOption.AllDirectories))
                {
                    var bytes = File.ReadAllBytes(file);
                    Assert.DoesNotContain(".partial", Path.GetFileName(file), $"{kib} KiB: a temporary file was left");
                    if (file.EndsWith(".png", StringComparison.Ordinal))
                    {
                        // A whole PNG ends with its IEND chunk.
                        CollectionAssert.AreEqual(new byte[] { 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82 }, bytes[^8..], $"{kib} KiB: {file} is cut off");
                    }
                    else if (file.EndsWith(".zip", StringComparison.Ordinal))
                    {
                        using var zip = System.IO.Compression.ZipFile.OpenRead(file);
                        Assert.IsNotEmpty(zip.Entries, $"{kib} KiB: {file}");
                    }
                }
            }
            finally
            {
                Process.Start("umount", ["-l", mount])!.WaitForExit();
            }
        }

        Assert.AreEqual(3, failed, "each mount size must fill up: otherwise the test saw no full disk");
    }

    [TestMethod]
    public void ScaleOnAReadOnlyFolderSaysItCannotBeWritten()
    {
        // Found by QA: `scale --dir` on a read-only mount said the folder had "0 MB free".
        var mount = Path.Combine(Temp, "read-only");
        Directory.CreateDirectory(mount);
        if (Mount(64, mount, readOnly: true) != 0)
        {
            Assert.Inconclusive("cannot mount a tmpfs here (needs root and a kernel that allows it)");
        }

        try
        {
            var dir = Path.Combine(mount, "scale-data");
            var (code, stdout, stderr) = Run(App(), "scale", "--dir", dir, "--base-mb", "1", "--sizes", "1");
            Assert.AreEqual(2, code, stdout + stderr);
            var line = SingleLine(stderr);
            StringAssert.Contains(line, $"--dir '{dir}': '{mount}' cannot be written (");
            Assert.DoesNotContain("MB free", line);
            Assert.IsEmpty(Directory.GetFileSystemEntries(mount));
        }
        finally
        {
            Process.Start("umount", ["-l", mount])!.WaitForExit();
        }
    }

    [TestMethod]
    public void ClassifyAndForecastIntoAReadOnlyFolderAreRefusedBeforeTraining()
    {
        // Found by QA: a read-only --output ran the cross-validation and the refit, then failed writing model.zip.
        var mount = Path.Combine(Temp, "read-only-out");
        Directory.CreateDirectory(mount);
        if (Mount(64, mount, readOnly: true) != 0)
        {
            Assert.Inconclusive("cannot mount a tmpfs here (needs root and a kernel that allows it)");
        }

        try
        {
            var app = App();
            var train = CliFiles.Classification(Path.Combine(Temp, "train.csv"), 10, 16, 1);
            var series = CliFiles.Forecasting(Path.Combine(Temp, "series.csv"), 1, 60, 1);
            foreach (var (args, output) in new[]
                     {
                         (new[] { "classify", "--train", train, "--output", mount }, mount),
                         (["classify", "--train", train, "--output", Path.Combine(mount, "new", "deeper")], Path.Combine(mount, "new", "deeper")),
                         (["forecast", "--train", series, "--value", "value", "--horizon", "3", "--output", mount], mount),
                     })
            {
                var (code, stdout, stderr) = Run(app, args);
                Assert.AreEqual(2, code, stdout + stderr);
                StringAssert.Contains(SingleLine(stderr), $"--output '{output}': the folder '{mount}' cannot be written (");
                Assert.DoesNotContain("fold", stdout, "refused before any training");
            }
        }
        finally
        {
            Process.Start("umount", ["-l", mount])!.WaitForExit();
        }
    }

    [TestMethod]
    public void AWritableOutputFolderUnderAReadOnlyParentIsWrittenStagedInsideIt()
    {
        // The output is staged beside the folder, in its parent: a read-only parent failed naming the staging folder
        // (review), and then was refused (QA: --output . in a home folder whose parent is root's). Staged inside it now.
        var parent = Path.Combine(Temp, "ro-parent");
        Directory.CreateDirectory(parent);
        if (Mount(64, parent) != 0)
        {
            Assert.Inconclusive("cannot mount a tmpfs here (needs root and a kernel that allows it)");
        }

        var output = Directory.CreateDirectory(Path.Combine(parent, "out")).FullName;
        try
        {
            Process.Start("mount", ["-o", "remount,ro", parent])!.WaitForExit();
            Assert.AreEqual(0, Mount(4096, output), "a writable folder inside the read-only one");
            var train = CliFiles.Classification(Path.Combine(Temp, "train.csv"), 10, 16, 1);
            var (code, stdout, stderr) = Run(SamplesApp.Copy(SamplesApp.Output(), Path.Combine(Temp, "staged-app")), "classify", "--train", train, "--folds", "2", "--output", output);
            Assert.AreEqual(0, code, stdout + stderr);
            Assert.IsTrue(File.Exists(Path.Combine(output, "model.zip")), string.Join(", ", Directory.GetFileSystemEntries(output)));
            Assert.IsEmpty(Directory.GetDirectories(output), "the staging folder inside it is gone");
        }
        finally
        {
            Process.Start("umount", ["-l", output])!.WaitForExit();
            Process.Start("umount", ["-l", parent])!.WaitForExit();
        }
    }

    private static int Mount(int kib, string folder, bool readOnly = false)
    {
        var options = (readOnly ? "ro," : string.Empty) + $"size={kib}k";
        using var process = Process.Start(new ProcessStartInfo("mount", ["-t", "tmpfs", "-o", options, "tmpfs", folder]) { RedirectStandardError = true })!;
        process.WaitForExit();
        return process.ExitCode;
    }

    [TestMethod]
    public void TrainingFromADeletedWorkingDirectoryIsRefusedInsteadOfEndingTheProcess()
    {
        // Found by QA: libtorch's MKL ended the process at its first use ("Intel oneMKL FATAL ERROR: Cannot load
        // libtorch_cpu.so") when the working directory had been deleted. The shell deletes it, then runs the app in it.
        var app = SamplesApp.Copy(SamplesApp.Output(), Path.Combine(Temp, "torch-app"));
        var train = CliFiles.Classification(Path.Combine(Temp, "train.csv"), 10, 16, 1);
        var gone = Directory.CreateDirectory(Path.Combine(Temp, "gone")).FullName;
        var start = SamplesApp.StartInfo(app, Temp, "classify", "--train", train, "--model", "lmu", "--epochs", "1", "--folds", "2", "--output", Path.Combine(Temp, "out"));
        var dotnet = start.FileName;
        var inner = start.ArgumentList.ToArray();
        start.FileName = "/bin/sh";
        start.ArgumentList.Clear();
        foreach (var a in new[] { "-c", "cd \"$0\" && rmdir \"$0\" && exec \"$@\"", gone, dotnet }.Concat(inner)) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        Assert.IsTrue(process.WaitForExit(Limit), "the app did not finish");
        Assert.AreEqual(2, process.ExitCode, stdout.Result + stderr.Result);
        StringAssert.Contains(SingleLine(stderr.Result), "error: the working directory no longer exists");
        Assert.IsFalse(Directory.Exists(gone));
    }

    [TestMethod]
    public void ClassifyWarnsOfACommaFileWrittenWithDecimalCommas()
    {
        // Found by QA: "walk,-0,073127,0,548912" trained on -0, 73127, 0 and 548912 without a word.
        var rng = new Random(3);
        string Row(string label) => label + "," + string.Join(',', Enumerable.Range(0, 8).Select(_ => (rng.NextDouble() - 0.5).ToString("F6", CultureInfo.InvariantCulture).Replace('.', ',')));
        var file = Path.Combine(Temp, "commas.csv");
        File.WriteAllLines(file, Enumerable.Range(0, 20).Select(i => Row(i % 2 == 0 ? "walk" : "run")));
        var (_, stdout, stderr) = Run(App(), "classify", "--train", file, "--folds", "2", "--output", Path.Combine(Temp, "commas-out"));
        StringAssert.Contains(stderr, $"warning: '{file}' has fields such as", stdout);
        StringAssert.Contains(stderr, "write them with points, or separate the fields with ';'");
    }

    [TestMethod]
    public void TheScoreNewRowsHintQuotesAPathWithShellCharacters()
    {
        // Found by QA: for --output 'o$HOME(1)' the hint printed the path bare, and pasting it ran something else.
        var train = CliFiles.Classification(Path.Combine(Temp, "train.csv"), 10, 16, 1);
        var output = Path.Combine(Temp, "o$HOME(1)");
        var (code, stdout, stderr) = Run(SamplesApp.Copy(SamplesApp.Output(), Path.Combine(Temp, "hint-app")), "classify", "--train", train, "--folds", "2", "--output", output);
        Assert.AreEqual(0, code, stdout + stderr);
        StringAssert.Contains(stdout, $"score new rows: predict --model '{Path.Combine(output, "model.zip")}' --input rows.csv");
    }

    [TestMethod]
    public void DecimalOptionsAreReadWithAPointWhateverTheLocale()
    {
        // Found by QA: the parser read the current culture and took thousands separators, so under de-DE
        // `--learning-rate 0.002` trained at 2, and under en-US `--learning-rate 0,002` did too.
        var app = App();
        foreach (var locale in new[] { "de_DE.UTF-8", "en_US.UTF-8" })
        {
            foreach (var (args, message) in new[]
                     {
                         (new[] { "forecast", "--train", "absent.csv", "--horizon", "3", "--learning-rate", "0,002" }, "Cannot parse argument '0,002' for option '--learning-rate': write a number with a point"),
                         (["experiment", "--budget", "1,5"], "Cannot parse argument '1,5' for option '--budget'"),
                         (["psmnist", "--weight-decay", "-0.5"], "--weight-decay -0.5 must be 0 or more (and finite)"),
                     })
            {
                var (code, stdout, stderr) = RunIn(app, locale, args);
                Assert.AreEqual(2, code, stdout + stderr);
                StringAssert.Contains(SingleLine(stderr), message, locale);
            }

            var help = RunIn(app, locale, ["forecast", "--help"]);
            StringAssert.Contains(help.Stdout, "[default: 0.002]", locale);
            StringAssert.Contains(help.Stdout, "Options:", $"{locale}: headings in the app's language (QA: 'Optionen:' under de_DE)");
        }
    }

    private (int Code, string Stdout, string Stderr) Run(string app, params string[] args) => RunWithShared(app, null, args);

    private (int Code, string Stdout, string Stderr) RunIn(string app, string locale, string[] args) => Start(app, null, locale, args);

    /// <param name="shared">The shared folder the app is to read (LMU_SHARED_DIR), or null for none in reach.</param>
    private (int Code, string Stdout, string Stderr) RunWithShared(string app, string? shared, params string[] args) => Start(app, shared, null, args);

    /// <param name="app">The app's path.</param>
    /// <param name="shared">The shared folder the app is to read (LMU_SHARED_DIR), or null for none in reach.</param>
    /// <param name="locale">LANG and LC_ALL for the app (its culture), or null for this process's.</param>
    /// <param name="args">The command line.</param>
    private (int Code, string Stdout, string Stderr) Start(string app, string? shared, string? locale, string[] args)
    {
        var start = SamplesApp.StartInfo(app, Temp, args);
        if (shared is not null)
        {
            start.Environment[SharedData.EnvironmentVariable] = shared;
        }

        if (locale is not null)
        {
            start.Environment["LANG"] = locale;
            start.Environment["LC_ALL"] = locale;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"the Samples app ({string.Join(' ', args)}) did not finish within {Limit}");
        }

        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    private string App() => SamplesApp.CopyWithoutTorch(SamplesApp.Output(), Path.Combine(Temp, "app"));
}
