using System.Globalization;
using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// Options of <see cref="LmuPooledFeaturizerEstimator"/>: many fixed Legendre memories of random window lengths, read at
/// every step, each memory projected onto random directions, and every projection pooled over time.
/// </summary>
/// <remarks>
/// <para>What one feature is: a memory of window <c>theta</c> holds, at step t, the Legendre coefficients of the last
/// <c>theta</c> steps. A random direction <c>w</c> over those coefficients (and over a random subset of channels) plus
/// a bias b gives <c>z_t = w . m_t + b</c>, which is the input convolved with one smooth random kernel of length
/// <c>theta</c>. Each projection yields two features: the proportion of steps where <c>z_t &gt; 0</c> and the maximum
/// of <c>z_t</c> over the row's steps. Pooling over time makes the features insensitive to where a pattern occurs, the
/// property that random-convolution classifiers (ROCKET, Dempster et al. 2020) rely on; here the kernels are read from
/// Legendre memories instead of being sampled tap by tap.</para>
/// <para>Sampling (deterministic under <see cref="Seed"/>): window lengths are log-uniform in
/// [<see cref="MinTheta"/>, <see cref="MaxTheta"/>]; directions are standard normal in the orthonormal Legendre basis
/// with the constant coefficient set to 0 (so a kernel ignores the row's level once its window has filled; from the
/// zero start a constant still moves the other coefficients for about theta steps); each projection reads a random
/// subset of channels of log-uniform size; its bias is minus a quantile, uniform in [0.25, 0.75], of the projection
/// over one random training row. Fit therefore reads the training rows once.</para>
/// <para>Layouts: input as for <see cref="LmuFeaturizerOptions"/> (time-major fixed-size <c>Vector&lt;Single&gt;</c>,
/// or channel-major with <see cref="InputLayout"/>; optional length column, right-aligned inside the graph so padding is never read). Output: a
/// <c>Vector&lt;Single&gt;</c> of <c>2 x Windows x ProjectionsPerWindow</c> values, first every proportion (slot
/// <c>g*P + k</c> for window g, projection k), then every maximum in the same order.</para>
/// <para>Cost per row, exact either way (no impulse response is truncated): below 1,024 steps one causal convolution of
/// <c>Windows x Order</c> kernels of the row's full length per channel (<c>O(T^2)</c>); from 1,024 steps the memory in
/// blocks of 64 steps, a convolution of 64 taps and the state carried from block to block (<c>O(T x 64)</c> per kernel,
/// plus <c>O(T x Order)</c>); and <c>O(T x Windows x ProjectionsPerWindow x Order)</c> for the projections.</para>
/// </remarks>
public sealed class LmuPooledFeaturizerOptions
{
    private static readonly OptionsGuard Guard = new("LmuPooledFeaturizerOptions.");

    /// <summary>Name of the output column. Default "LmuPooledFeatures".</summary>
    public string OutputColumnName { get; set; } = "LmuPooledFeatures";

    /// <summary>Name of the input sequence column (fixed-size <c>Vector&lt;Single&gt;</c>, laid out as <see cref="InputLayout"/> says). Default "Features".</summary>
    public string InputColumnName { get; set; } = "Features";

    /// <summary>
    /// Optional scalar <c>Single</c>, <c>Int32</c>, <c>UInt32</c> or <c>Int64</c> column with each row's number of valid
    /// steps (they come first in the vector; scoring needs the type it had at Fit): a whole
    /// number from 1 to <c>SequenceLength</c>, checked at Fit and by the fitted transformer (a model loaded from its zip
    /// gives NaN features for such a row instead). Default <see langword="null"/>: every row has <c>SequenceLength</c> steps.
    /// </summary>
    public string? LengthColumnName { get; set; }

    /// <summary>Steps per row. Default <see langword="null"/>: the input vector's size divided by <see cref="Channels"/>.</summary>
    public int? SequenceLength { get; set; }

    /// <summary>Values per step. Default 1.</summary>
    public int Channels { get; set; } = 1;

    /// <summary>
    /// How the input column lays out several channels: <see cref="LmuInputLayout.StepMajor"/> (each step's channels
    /// side by side) or <see cref="LmuInputLayout.ChannelMajor"/> (each channel's steps one after another, as
    /// <c>Concatenate</c> of one column per channel makes; with a length column each channel's block holds its valid
    /// steps first). The graph reads either as it is; one channel reads the same in both. Default
    /// <see cref="LmuInputLayout.StepMajor"/>.
    /// </summary>
    public LmuInputLayout InputLayout { get; set; } = LmuInputLayout.StepMajor;

    /// <summary>Legendre coefficients per memory (a kernel's degrees of freedom, like ROCKET's 9 taps). Default 9.</summary>
    public int Order { get; set; } = 9;

    /// <summary>Number of memories, each with its own random window length. Default 50.</summary>
    public int Windows { get; set; } = 50;

    /// <summary>Random projections read from each memory (two features each). Default 100, so 10,000 features by default.</summary>
    public int ProjectionsPerWindow { get; set; } = 100;

    /// <summary>Shortest window in steps. Default <see langword="null"/>: <c>min(8, SequenceLength)</c>.</summary>
    public double? MinTheta { get; set; }

    /// <summary>Longest window in steps. Default <see langword="null"/>: the sequence length.</summary>
    public double? MaxTheta { get; set; }

    /// <summary>Discretisation of the Legendre system. Default <see cref="LmuDiscretizer.Zoh"/>.</summary>
    public LmuDiscretizer Discretizer { get; set; } = LmuDiscretizer.Zoh;

    /// <summary>
    /// Per-row rescaling inside the model before the memories. Default <see cref="LmuFeatureNormalization.ZScorePerRow"/>
    /// (series compared by shape, as in the UCR benchmarks); use <see cref="LmuFeatureNormalization.None"/> when the
    /// magnitude itself separates the classes.
    /// </summary>
    public LmuFeatureNormalization Normalization { get; set; } = LmuFeatureNormalization.ZScorePerRow;

    /// <summary>
    /// Seed of the sampling. Default <see langword="null"/>: drawn from the MLContext's seed stream when the estimator
    /// was made through <c>mlContext.Transforms</c> or with the MLContext constructor (so <c>new MLContext(seed: 1)</c>
    /// gives the same features fit after fit), 0 with the options-only constructor. The same seed and training rows
    /// give the same model, bit for bit.
    /// </summary>
    public int? Seed { get; set; }

    /// <summary>Checks the options that do not depend on the data; throws <see cref="ArgumentException"/> naming the option.</summary>
    public void Validate()
    {
        Guard.Require(!string.IsNullOrWhiteSpace(OutputColumnName), nameof(OutputColumnName), "must be a column name");
        Guard.Require(!string.IsNullOrWhiteSpace(InputColumnName), nameof(InputColumnName), "must be a column name");
        Guard.Require(LengthColumnName is null || LengthColumnName.Trim().Length > 0, nameof(LengthColumnName), "must be null or a column name");
        Guard.Require(OutputColumnName != LengthColumnName, nameof(LengthColumnName), "must differ from the output column");
        Guard.Require(SequenceLength is null or >= 1, nameof(SequenceLength), $"must be null or at least 1 but was {SequenceLength}");
        Guard.Require(Channels >= 1, nameof(Channels), $"must be at least 1 but was {Channels}");
        Guard.Require(Enum.IsDefined(InputLayout), nameof(InputLayout), $"is not a declared value ({(int)InputLayout})");
        Guard.Require(Order is >= 2 and <= 64, nameof(Order), $"must be in [2, 64] but was {Order} (coefficient 0 is never projected, so order 1 gives no feature)");
        Guard.Require(Windows >= 1, nameof(Windows), $"must be at least 1 but was {Windows}");
        Guard.Require(ProjectionsPerWindow >= 1, nameof(ProjectionsPerWindow), $"must be at least 1 but was {ProjectionsPerWindow}");
        Guard.Require((long)Windows * ProjectionsPerWindow <= 1_000_000, nameof(ProjectionsPerWindow),
            $"times Windows must be at most 1,000,000 but was {(long)Windows * ProjectionsPerWindow}");
        Guard.Require(MinTheta is null || (MinTheta > 0 && double.IsFinite(MinTheta.Value)), nameof(MinTheta), string.Create(CultureInfo.InvariantCulture, $"must be null or finite and greater than 0 but was {MinTheta}"));
        Guard.Require(MaxTheta is null || (MaxTheta > 0 && double.IsFinite(MaxTheta.Value)), nameof(MaxTheta), string.Create(CultureInfo.InvariantCulture, $"must be null or finite and greater than 0 but was {MaxTheta}"));
        Guard.Require(MinTheta is null || MaxTheta is null || MinTheta <= MaxTheta, nameof(MinTheta), string.Create(CultureInfo.InvariantCulture, $"({MinTheta}) must not exceed MaxTheta ({MaxTheta})"));
        Guard.Require(Discretizer is LmuDiscretizer.Zoh or LmuDiscretizer.Euler, nameof(Discretizer), $"must be Zoh or Euler but was {(int)Discretizer}");
        Guard.Require(Enum.IsDefined(Normalization), nameof(Normalization), $"is not a declared value ({(int)Normalization})");
        if (Discretizer == LmuDiscretizer.Euler && MinTheta is { } minTheta)
        {
            // A MinTheta left null is resolved from the sequence length, checked at Fit.
            EulerStability.Require(Order, minTheta, $"{nameof(LmuPooledFeaturizerOptions)}.{nameof(MinTheta)}");
        }
    }

    /// <summary>A copy, so that an estimator is not changed by later edits of the caller's options.</summary>
    internal LmuPooledFeaturizerOptions Clone() => (LmuPooledFeaturizerOptions)MemberwiseClone();
}
