using Lmu.MLNet.Tests.Infrastructure;
using System.Globalization;
using Lmu.MLNet.Tests.Samples;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// A classifier zip loads in an application that references only ML.NET (Microsoft.ML, Microsoft.ML.OnnxTransformer
/// and the ONNX Runtime they need), not Lmu.MLNet: a fresh project generated in a temp folder (restored from the
/// machine's package sources, like <see cref="PackageConsumerTests"/>) loads the zip, predicts labels and scores
/// identical to the in-process model, evaluates them, and has neither Lmu.MLNet nor TorchSharp loaded.
/// The same app fails to load the legacy zip (Data/Legacy/mlnet-5.0.1/classifier.zip, which holds the CustomMapping
/// SingleSlotTextMappingFactory) with "Could not load file or assembly 'Lmu.MLNet'": what every classifier zip did before.
/// </summary>
[TestClass]
public sealed class MlNetOnlyConsumerTests : ClassifierTestBase
{
    [TestMethod]
    [TestCategory("Package")]
    [Timeout(600_000, CooperativeCancellation = true)]
    public void AClassifierZipLoadsAndPredictsInAnAppThatReferencesOnlyMlNet()
    {
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            Assert.Inconclusive("the consumer is built for linux-x64");
        }

        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(96, 31));
        var rows = DelayedPatternData.Rows(30, 32);
        var zip = Path.Combine(Temp, "classifier.zip");
        float[][] scores;
        string[] labels;
        double accuracy;
        using (var model = ml.Transforms.LmuClassifier(ClassifierSetup.Parallel(epochs: 2)).Fit(data))
        {
            var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
            scores = scored.GetColumn<float[]>("Score").ToArray();
            VBuffer<ReadOnlyMemory<char>> names = default;
            scored.Schema["PredictedLabel"].GetKeyValues(ref names);
            var classes = names.DenseValues().Select(n => n.ToString()).ToArray();
            labels = scored.GetColumn<uint>("PredictedLabel").Select(k => classes[(int)k - 1]).ToArray();
            accuracy = labels.Zip(rows, (p, r) => p == r.Label ? 1.0 : 0.0).Average();
            ml.Model.Save(model, data.Schema, zip);
        }

        var input = Path.Combine(Temp, "rows.csv");
        File.WriteAllLines(input, rows.Select(r => r.Label + "," + string.Join(',', r.Features.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
        var output = Path.Combine(Temp, "predictions.csv");
        var legacy = Path.Combine(AppContext.BaseDirectory, "Data", "Legacy", "mlnet-5.0.1", "classifier.zip");
        var app = WriteConsumer(ConsumerProject.RepositoryRoot());

        var (code, log) = PackageConsumerTests.Dotnet(app, TimeSpan.FromMinutes(6), "run", "-c", "Release", "--", zip, input, output, legacy);
        Assert.AreEqual(0, code, log);
        StringAssert.Contains(log, "consumer: Lmu.MLNet or TorchSharp loaded: none", log);
        // The old route needed our assembly at Model.Load: proves the app really lacks it, and what the change removes.
        StringAssert.Contains(log, "consumer: legacy zip: FileNotFoundException: Could not load file or assembly 'Lmu.MLNet", log);

        var lines = File.ReadAllLines(output);
        Assert.HasCount(rows.Count, lines);
        for (var i = 0; i < rows.Count; i++)
        {
            var parts = lines[i].Split(',');
            Assert.AreEqual(labels[i], parts[0], $"row {i}: predicted label");
            CollectionAssert.AreEqual(scores[i], parts[1..].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(), $"row {i}: scores must be bit-identical");
        }

        var reported = double.Parse(System.Text.RegularExpressions.Regex.Match(log, @"consumer: micro accuracy ([0-9.Ee+-]+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.AreEqual(accuracy, reported, 1e-12, "MulticlassClassification.Evaluate in the consumer");
    }

    private string WriteConsumer(string root)
    {
        var consumer = Path.Combine(Temp, "consumer");
        Directory.CreateDirectory(consumer);
        var versions = ConsumerProject.PinnedVersions(root);
        // No nuget.config: the machine's package sources, as an application outside this repository gets them.
        ConsumerProject.Write(consumer, new[] { "Microsoft.ML", "Microsoft.ML.OnnxTransformer", "Microsoft.ML.OnnxRuntime" }.Select(id => (id, versions[id])));
        File.WriteAllText(Path.Combine(consumer, "Program.cs"), ConsumerProgram.Replace("STEPS", DelayedPatternData.Steps.ToString(CultureInfo.InvariantCulture)));
        return consumer;
    }

    /// <summary>An ML.NET-only application: Model.Load, a PredictionEngine, the KeyValues of PredictedLabel, Evaluate.</summary>
    private const string ConsumerProgram = """
        using System.Globalization;
        using Microsoft.ML;
        using Microsoft.ML.Data;

        var (zip, input, output, legacy) = (args[0], args[1], args[2], args[3]);
        var ml = new MLContext();
        var model = ml.Model.Load(zip, out _);
        var rows = File.ReadAllLines(input).Select(l => l.Split(',')).Select(p => new Row
        {
            Label = p[0],
            Features = p[1..].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray(),
        }).ToList();
        var scored = model.Transform(ml.Data.LoadFromEnumerable(rows));
        var predictedLabel = scored.Schema["PredictedLabel"];
        if (predictedLabel.Type is not KeyDataViewType)
        {
            throw new InvalidOperationException($"PredictedLabel is {predictedLabel.Type}, not a scalar key");
        }

        VBuffer<ReadOnlyMemory<char>> names = default;
        predictedLabel.GetKeyValues(ref names);
        var classes = names.DenseValues().Select(n => n.ToString()).ToArray();
        using (var engine = ml.Model.CreatePredictionEngine<Row, Prediction>(model, new PredictionEngineOptions { OwnsTransformer = false }))
        {
            File.WriteAllLines(output, rows.Select(r => engine.Predict(r)).Select(p =>
                classes[(int)p.PredictedLabel - 1] + "," + string.Join(',', p.Score.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))));
        }

        // The label as a key in the model's class order, as a trainer pipeline would have it.
        var keyData = ml.Data.LoadFromEnumerable(classes.Select(c => new Term { Label = c }));
        var withKey = ml.Transforms.Conversion.MapValueToKey("LabelKey", "Label", keyData: keyData).Fit(scored).Transform(scored);
        var metrics = ml.MulticlassClassification.Evaluate(withKey, labelColumnName: "LabelKey");
        Console.WriteLine("consumer: micro accuracy " + metrics.MicroAccuracy.ToString("R", CultureInfo.InvariantCulture));

        var ours = AppDomain.CurrentDomain.GetAssemblies().Select(a => a.GetName().Name ?? "")
            .Where(n => n.StartsWith("Lmu.", StringComparison.Ordinal) || n.StartsWith("TorchSharp", StringComparison.Ordinal)).ToArray();
        Console.WriteLine("consumer: Lmu.MLNet or TorchSharp loaded: " + (ours.Length == 0 ? "none" : string.Join(", ", ours)));

        try
        {
            ml.Model.Load(legacy, out _);
            Console.WriteLine("consumer: legacy zip: loaded");
        }
        catch (Exception e)
        {
            var inner = e;
            while (inner.InnerException is not null && inner is not FileNotFoundException) inner = inner.InnerException;
            Console.WriteLine($"consumer: legacy zip: {inner.GetType().Name}: {inner.Message}");
        }

        return ours.Length == 0 ? 0 : 1;

        internal sealed class Row
        {
            public string Label { get; set; } = "";
            [VectorType(STEPS)]
            public float[] Features { get; set; } = [];
        }

        internal sealed class Term
        {
            public string Label { get; set; } = "";
        }

        internal sealed class Prediction
        {
            public uint PredictedLabel { get; set; }
            public float[] Score { get; set; } = [];
        }
        """;
}
