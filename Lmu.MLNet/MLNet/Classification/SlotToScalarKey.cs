using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Lmu.MLNet.Classification;

/// <summary>
/// Turns the ONNX graph's predicted class index (0-based arg-max, a 1-slot Int64 vector) into a scalar key
/// <c>PredictedLabel</c> carrying the class names as KeyValues, with ML.NET's own transforms only, so that a saved classifier loads in an application that
/// references Microsoft.ML and Microsoft.ML.OnnxTransformer but not Lmu.MLNet.
/// </summary>
/// <remarks>
/// <para>
/// Why not a scalar straight from ONNX (measured with ML.NET 6.0.0, whose OnnxTransformer code is unchanged since
/// 2024): a rank-0 graph output (empty shape) is typed as a scalar column, but reading it throws
/// ArgumentNullException ('source'): OnnxTransform.Mapper.MakeObjectGetter first runs
/// <c>namedOnnxValue.AsEnumerable&lt;NamedOnnxValue&gt;().Select(...)</c>, and AsEnumerable is null for a tensor (its
/// caster would then cast a Tensor&lt;T&gt; to T: OnnxTypeParser.GetDataViewValueCasterAndResultedType takes its scalar
/// branch only when the shape proto is absent). An output with no shape at all fails at fit (NullReferenceException).
/// OnnxTransformer's <c>shapeDictionary</c> cannot help: [1] is refused as incompatible with the empty shape, [] keeps
/// the broken scalar, and for vector outputs it only re-dimensions the vector (OnnxModel.GetOnnxVariablesFromMetadata).
/// Expression, ValueMapping and ValueToKey keep a vector input's shape.
/// </para>
/// <para>
/// The built-in transform we found that reduces a vector to a scalar is Hash with <c>combine: true</c>
/// (HashingTransformer.GetOutputType: a scalar Key&lt;UInt32, 2^bits&gt;). So: Hash the 1-slot class index into a scalar
/// key; MapValue that hash (the key's raw UInt32) to the class name through a lookup table computed here by the same
/// Hash transform; MapValueToKey the name with the class names in key order. The seed is chosen so that the indexes
/// 0..K-1 hash to K distinct values, which makes the chain exact, not probabilistic. The index is hashed, not the name,
/// because ML.NET's text hash trims spaces and sends an empty text to 0 (missing): "a" and " a" would collide.
/// </para>
/// </remarks>
internal static class SlotToScalarKey
{
    /// <summary>ONNX output read here: the 0-based arg-max, Int64 [1] (dropped from the final schema).</summary>
    public const string IndexColumn = "lmu.PredictedIndex";

    /// <summary>Intermediate scalar hash-key column (dropped from the final schema).</summary>
    public const string HashColumn = "lmu.PredictedClassHash";

    /// <summary>Hash width: the most ML.NET allows, so that collisions between indexes are rare to begin with.</summary>
    private const int Bits = 31;

    /// <summary>ML.NET's default hash seed, tried first.</summary>
    private const uint FirstSeed = 314489979;

    /// <summary>Seeds tried before giving up (a collision among K indexes has probability about K²/2³² per seed).</summary>
    private const int SeedsTried = 64;

    /// <summary>
    /// Estimator reading <see cref="IndexColumn"/> (Int64, 1 slot) and writing
    /// <paramref name="predictedLabelColumn"/> (scalar key, KeyValues = <paramref name="classNames"/> in key order); it
    /// drops its intermediate columns and the ONNX index column. It needs no rows to fit.
    /// </summary>
    public static IEstimator<ITransformer> Create(MLContext ml, IReadOnlyList<string> classNames, string predictedLabelColumn)
    {
        var (seed, hashes) = DistinctHashes(ml, classNames.Count);
        var lookup = hashes.Select((h, k) => new KeyValuePair<uint, string>(h, classNames[k]));
        var keyData = ml.Data.LoadFromEnumerable(classNames.Select(n => new ScalarText { Value = n }));
        return ml.Transforms.Conversion.Hash(Options(seed))
            // The hash column is a key whose raw type is UInt32; ValueMapping reads it through GetGetter<uint>.
            .Append(ml.Transforms.Conversion.MapValue(OnnxCarrier.PredictedValueColumn, lookup, HashColumn))
            // keyData is read in order (ByOccurrence), so key k is classNames[k-1], matching Score's slot k-1.
            .Append(ml.Transforms.Conversion.MapValueToKey(predictedLabelColumn, OnnxCarrier.PredictedValueColumn, keyData: keyData))
            .Append(ml.Transforms.DropColumns(IndexColumn, HashColumn, OnnxCarrier.PredictedValueColumn));
    }

    /// <summary>The first seed under which the indexes 0..classes-1 hash to distinct values, and those values in index order.</summary>
    internal static (uint Seed, uint[] Hashes) DistinctHashes(MLContext ml, int classes)
    {
        var names = ml.Data.LoadFromEnumerable(Enumerable.Range(0, classes).Select(i => new SingleSlotIndex { Value = [i] }));
        for (var i = 0; i < SeedsTried; i++)
        {
            var seed = unchecked(FirstSeed + (uint)i);
            var hashes = ml.Transforms.Conversion.Hash(Options(seed)).Fit(names).Transform(names).GetColumn<uint>(HashColumn).ToArray();
            // 0 is ML.NET's missing key; Int64 never hashes to it, but a class must not map to it.
            if (hashes.All(h => h != 0) && hashes.Distinct().Count() == hashes.Length)
            {
                return (seed, hashes);
            }
        }

        throw new InvalidOperationException($"The indexes of {classes} classes collide under {SeedsTried} hash seeds.");
    }

    private static HashingEstimator.ColumnOptions Options(uint seed) =>
        new(HashColumn, IndexColumn, numberOfBits: Bits, seed: seed, combine: true);

    /// <summary>A row of the index column, to compute the hashes.</summary>
    private sealed class SingleSlotIndex
    {
        [ColumnName(IndexColumn)]
        [VectorType(1)]
        public long[] Value { get; set; } = [];
    }
}
