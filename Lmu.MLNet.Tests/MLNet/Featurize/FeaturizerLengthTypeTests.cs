using Lmu.MLNet.Featurize;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>
/// Both featurizers take a length column of any type the classifier takes (Single, Int32, UInt32, Int64; only Single
/// was, found by QA), giving the features of the Single column; scoring needs the type the featurizer was fitted with.
/// </summary>
[TestClass]
public sealed class FeaturizerLengthTypeTests
{
    private const int Steps = 12;

    [TestMethod]
    public void EveryLengthTypeGivesTheFeaturesOfTheSingleColumn()
    {
        var ml = new MLContext(seed: 1);
        var rows = FeaturizerData.Random(6, Steps, 1, seed: 3);
        int[] lengths = [12, 9, 5, 1, 7, 3];
        for (var r = 0; r < rows.Count; r++)
        {
            rows[r].Length = lengths[r];
        }

        var single = FeaturizerData.Load(ml, rows, Steps);
        IEstimator<ITransformer>[] featurizers =
        [
            ml.Transforms.LmuFeaturize(new LmuFeaturizerOptions { OutputColumnName = "P", Order = 5, LengthColumnName = "Length" }),
            ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions { OutputColumnName = "P", Windows = 3, ProjectionsPerWindow = 4, Order = 4, LengthColumnName = "Length", Seed = 1 }),
        ];
        foreach (var featurizer in featurizers)
        {
            using var reference = (IDisposable)featurizer.Fit(single);
            var expected = ((ITransformer)reference).Transform(single).GetColumn<float[]>("P").ToArray();
            foreach (var (typed, type) in new[]
            {
                (Typed(ml, rows, r => (int)r.Length), NumberDataViewType.Int32),
                (Typed(ml, rows, r => (uint)r.Length), NumberDataViewType.UInt32),
                (Typed(ml, rows, r => (long)r.Length), NumberDataViewType.Int64),
            })
            {
                var model = featurizer.Fit(typed);
                try
                {
                    var actual = model.Transform(typed).GetColumn<float[]>("P").ToArray();
                    for (var r = 0; r < rows.Count; r++)
                    {
                        CollectionAssert.AreEqual(expected[r], actual[r], $"{featurizer.GetType().Name}, {type}, row {r}");
                    }

                    // The graph reads the type it was fitted with: a Single column is refused, naming both.
                    var e = Assert.Throws<ArgumentException>(() => model.Transform(single));
                    StringAssert.Contains(e.Message, $"length column 'Length' must be {type} (the type it had at Fit) but is Single");
                }
                finally
                {
                    (model as IDisposable)?.Dispose();
                }
            }

            var doubles = Typed(ml, rows, r => (double)r.Length);
            var refused = Assert.Throws<ArgumentException>(() => featurizer.Fit(doubles));
            StringAssert.Contains(refused.Message, "must be a scalar Single, Int32, UInt32 or Int64 but is Double");
        }
    }

    [TestMethod]
    public void AFractionalLengthIsNamedLikeTheFeaturizersOtherLengthErrors()
    {
        // QA: "length 2.5; expected a whole number from 1 to the row's steps", without the component or the bound its
        // messages for 0 and 40 give.
        var ml = new MLContext(seed: 1);
        var rows = FeaturizerData.Random(6, Steps, 1, seed: 3);
        foreach (var r in rows)
        {
            r.Length = Steps;
        }

        rows[4].Length = 2.5f;
        var e = Assert.ThrowsExactly<InvalidDataException>(() => ml.Transforms.LmuPooledFeaturize(
            new LmuPooledFeaturizerOptions { Windows = 2, ProjectionsPerWindow = 2, Order = 4, LengthColumnName = "Length", Seed = 1 }).Fit(FeaturizerData.Load(ml, rows, Steps)));
        StringAssert.Contains(e.Message, $"LmuPooledFeaturize: Sequence-length column 'Length', training row 4: length 2.5; expected a whole number from 1 to the row's steps (at most {Steps}).");
    }

    private static IDataView Typed<T>(MLContext ml, List<SeqRow> rows, Func<SeqRow, T> length)
    {
        var typed = rows.Select(r => new TypedRow<T> { Features = r.Features, Length = length(r) }).ToList();
        var schema = SchemaDefinition.Create(typeof(TypedRow<T>));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, Steps);
        return ml.Data.LoadFromEnumerable(typed, schema);
    }

    public sealed class TypedRow<T>
    {
        public float[] Features { get; set; } = [];

        public T Length { get; set; } = default!;
    }
}
