using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>A training row: a flattened sequence (T steps x 1 channel) and a text label.</summary>
public sealed class PatternRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType(DelayedPatternData.Steps)]
    public float[] Features { get; set; } = [];
}

/// <summary>The same row with a variable-length features column.</summary>
public sealed class VarPatternRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType]
    public float[] Features { get; set; } = [];
}

/// <summary>Native multiclass outputs.</summary>
public sealed class PatternPrediction
{
    public uint PredictedLabel { get; set; }

    public float[] Score { get; set; } = [];
}

/// <summary>PredictedLabel after MapKeyToValue.</summary>
public sealed class PatternTextPrediction
{
    public string PredictedLabel { get; set; } = string.Empty;
}

/// <summary>
/// A task only a memory solves: one of three 4-step patterns (high, low, high-then-low) occurs early (steps 0-7) in a noisy sequence of 24 steps
/// and the class must be read at the last step, 13+ steps later. Without memory of the early steps, accuracy is 1/3.
/// </summary>
internal static class DelayedPatternData
{
    public const int Steps = 24;

    /// <summary>Deliberately not alphabetical.</summary>
    public static readonly string[] Classes = ["up", "down", "bump"];

    private static readonly float[][] Patterns =
    [
        [2f, 2f, 2f, 2f],
        [-2f, -2f, -2f, -2f],
        [2f, 2f, -2f, -2f],
    ];

    /// <summary>Rows whose pattern starts at a random step in [0, <paramref name="latestStart"/>] (default: early, 0-7).</summary>
    public static List<PatternRow> Rows(int count, int seed, int latestStart = 7)
    {
        var rng = new Random(seed);
        var rows = new List<PatternRow>(count);
        for (var i = 0; i < count; i++)
        {
            var k = i % Classes.Length;
            var x = new float[Steps];
            for (var t = 0; t < Steps; t++)
            {
                x[t] = (float)((rng.NextDouble() - 0.5) * 0.4);
            }

            var at = rng.Next(0, latestStart + 1);
            for (var j = 0; j < 4; j++)
            {
                x[at + j] += Patterns[k][j];
            }

            rows.Add(new PatternRow { Label = Classes[k], Features = x });
        }

        return rows;
    }
}
