using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>A padded row with an Int32 sequence-length column.</summary>
public sealed class LengthPatternRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType(VariableLengthPatternData.Steps)]
    public float[] Features { get; set; } = [];

    public int Length { get; set; }
}

/// <summary>A padded row with a Single sequence-length column.</summary>
public sealed class SingleLengthPatternRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType(VariableLengthPatternData.Steps)]
    public float[] Features { get; set; } = [];

    public float Length { get; set; }
}

/// <summary>A padded row with a Double (unsupported) sequence-length column.</summary>
public sealed class DoubleLengthPatternRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType(VariableLengthPatternData.Steps)]
    public float[] Features { get; set; } = [];

    public double Length { get; set; }
}

/// <summary>A padded row whose sequence-length column has type <typeparamref name="TLength"/> (Single, Int32, UInt32 or Int64).</summary>
public sealed class TypedLengthPatternRow<TLength>
{
    public string Label { get; set; } = string.Empty;

    [VectorType(VariableLengthPatternData.Steps)]
    public float[] Features { get; set; } = [];

    public TLength Length { get; set; } = default!;
}

/// <summary>A VarVector row with an Int32 sequence-length column.</summary>
public sealed class VarLengthPatternRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType]
    public float[] Features { get; set; } = [];

    public int Length { get; set; }
}

/// <summary>
/// A task that needs the lengths: every row is a run of 4-step patterns (one of three, each drawn at random) with
/// small noise, and its class is the pattern in its last 4 real steps; n = 4, 8, ..., 24 real steps, then more random
/// patterns up to 24 steps as padding. Without the lengths nothing marks where a row ends, so only full-length rows are
/// readable (accuracy about 1/6 + 5/6 x 1/3 = 0.44); with them the class is the most recent pattern at step n-1.
/// </summary>
internal static class VariableLengthPatternData
{
    public const int Steps = 24;

    private static readonly float[][] Patterns = [[2f, 2f, 2f, 2f], [-2f, -2f, -2f, -2f], [2f, 2f, -2f, -2f]];

    /// <summary><see cref="Rows"/> with the length converted to <typeparamref name="TLength"/>.</summary>
    public static List<TypedLengthPatternRow<TLength>> Rows<TLength>(int count, int seed, Func<int, TLength> length) =>
        Rows(count, seed).Select(r => new TypedLengthPatternRow<TLength> { Label = r.Label, Features = r.Features, Length = length(r.Length) }).ToList();

    public static List<LengthPatternRow> Rows(int count, int seed)
    {
        var rng = new Random(seed);
        var rows = new List<LengthPatternRow>(count);
        for (var i = 0; i < count; i++)
        {
            var k = i % 3;
            var n = 4 * rng.Next(1, (Steps / 4) + 1);
            var x = new float[Steps];
            for (var block = 0; block < Steps / 4; block++)
            {
                // The row's last real block is the class; every other block (earlier ones and padding) is random.
                var pattern = Patterns[(block + 1) * 4 == n ? k : rng.Next(3)];
                for (var j = 0; j < 4; j++)
                {
                    x[(block * 4) + j] = pattern[j] + (float)((rng.NextDouble() - 0.5) * 0.4);
                }
            }

            rows.Add(new LengthPatternRow { Label = DelayedPatternData.Classes[k], Features = x, Length = n });
        }

        return rows;
    }
}
