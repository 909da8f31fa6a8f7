using Lmu.MLNet.Featurize;
using Lmu.MLNet.Tests.MLNet.Classification;
using Lmu.MLNet.Tests.MLNet.Featurize;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Scoring;

/// <summary>
/// Every fitted model with a sequence-length column holds each scored row's length to a whole number from 1 to its
/// sequence length, in Transform and in a PredictionEngine. The carried graph truncates and clamps (found by QA:
/// LmuFeaturize scored NaN, 0, 2.5 and T + 1 as plausible numbers), so without the check these lengths score silently.
/// </summary>
[TestClass]
public sealed class SequenceLengthScoringTests
{
    private const int Steps = 12;

    [TestMethod]
    public void TheFeaturizersRefuseBadLengthsAndScoreGoodOnesAsBefore()
    {
        var ml = new MLContext(seed: 1);
        var train = FeaturizerData.Random(8, Steps, 1, seed: 1);
        train.ForEach(r => r.Length = Steps);
        var data = FeaturizerData.Load(ml, train, Steps);
        using var plain = ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions { OutputColumnName = "P", Order = 4, LengthColumnName = "Length" }).Fit(data);
        using var pooled = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions
        {
            OutputColumnName = "P", Windows = 3, ProjectionsPerWindow = 4, Order = 4, LengthColumnName = "Length", Seed = 1,
        }).Fit(data);
        Check<SeqRow, FeaturizedRow>(ml, plain, "LmuFeaturize", row => row.Length, (row, n) => row.Length = n, () => FeaturizerData.Random(3, Steps, 1, seed: 2), Steps, "P");
        Check<SeqRow, FeaturizedRow>(ml, pooled, "LmuPooledFeaturize", row => row.Length, (row, n) => row.Length = n, () => FeaturizerData.Random(3, Steps, 1, seed: 2), Steps, "P");
    }

    [TestMethod]
    public void TheClassifierRefusesBadLengthsOfAFixedSizeColumn()
    {
        var ml = new MLContext(seed: 1);
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.LengthColumnName = "Length";
        var rows = VariableLengthPatternData.Rows<float>(24, 2, n => n);
        using var model = ml.Transforms.LmuClassifier(options).Fit(ml.Data.LoadFromEnumerable(rows));
        Check<TypedLengthPatternRow<float>, ClassifiedRow>(
            ml, model, "LmuClassifier", row => row.Length, (row, n) => row.Length = n, () => VariableLengthPatternData.Rows<float>(3, 3, n => n),
            VariableLengthPatternData.Steps, "Score");
    }

    private static void Check<TRow, TOutput>(
        MLContext ml, ITransformer model, string component, Func<TRow, float> get, Action<TRow, float> set, Func<List<TRow>> rows, int steps, string output)
        where TRow : class
        where TOutput : class, new()
    {
        // Good lengths (1 and T included) score as before through both paths.
        var good = rows();
        set(good[0], 1);
        set(good[1], steps);
        set(good[2], steps / 2);
        var view = ml.Data.LoadFromEnumerable(good, SchemaFor<TRow>(steps));
        var scored = model.Transform(view).GetColumn<float[]>(output).ToArray();
        Assert.HasCount(3, scored);
        foreach (var bad in new[] { float.NaN, 0, 2.5f, steps + 1, -3, float.PositiveInfinity })
        {
            var batch = rows();
            set(batch[1], bad);
            var thrown = Assert.Throws<Exception>(() => model.Transform(ml.Data.LoadFromEnumerable(batch, SchemaFor<TRow>(steps))).GetColumn<float[]>(output).ToArray());
            var e = Unwrap(thrown);
            StringAssert.Contains(e.Message, $"{component}: sequence-length column 'Length', row 1");
            StringAssert.Contains(e.Message, $"from 1 to {steps}");

            // A PredictionEngine reads through the transformer's row-to-row mapper.
            using var engine = ml.Model.CreatePredictionEngine<TRow, TOutput>(
                model, new PredictionEngineOptions { OwnsTransformer = false, InputSchemaDefinition = SchemaFor<TRow>(steps) });
            var one = Unwrap(Assert.Throws<Exception>(() => engine.Predict(batch[1])));
            StringAssert.Contains(one.Message, "sequence-length column 'Length'");
            Assert.AreEqual(bad, get(batch[1]));
        }
    }

    private static SchemaDefinition SchemaFor<TRow>(int steps)
    {
        var schema = SchemaDefinition.Create(typeof(TRow));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, steps);
        return schema;
    }

    private static Exception Unwrap(Exception e)
    {
        // ML.NET's cursor workers wrap what a getter throws.
        while (e is not InvalidDataException && e.InnerException is { } inner)
        {
            e = inner;
        }

        Assert.IsInstanceOfType<InvalidDataException>(e, e.ToString());
        return e;
    }

    public sealed class FeaturizedRow
    {
        public float[] P { get; set; } = [];
    }

    public sealed class ClassifiedRow
    {
        public float[] Score { get; set; } = [];
    }
}
