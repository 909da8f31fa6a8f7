using System.Globalization;
using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Featurize;

/// <summary>
/// Options of <see cref="LmuFeaturizerEstimator"/>: a fixed (untrained) Legendre memory read over a sequence column.
/// </summary>
/// <remarks>
/// <para>Input layout: a fixed-size <c>Vector&lt;Single&gt;</c> of <c>SequenceLength * Channels</c> values, time-major
/// (step <c>t</c> occupies slots <c>[t*C, (t+1)*C)</c>), or channel-major with <see cref="InputLayout"/>.</para>
/// <para>Output layout (a <c>Vector&lt;Single&gt;</c>): the memory after the last step, <c>Channels x Order</c> values,
/// channel-major (slot <c>k*Order + i</c> is Legendre coefficient <c>i</c> of channel <c>k</c>); then the same block for
/// each of <see cref="WindowPositions"/> in the order given; then, if <see cref="DecodedDelays"/> is set,
/// <c>Channels x DecodedDelays.Count</c> values (slot <c>k*R + j</c> is channel <c>k</c> decoded at delay <c>j</c>).</para>
/// <para>Variable-length rows: ML.NET's OnnxTransformer cannot read variable-size vectors, so such rows are given as
/// a fixed-size vector whose first <c>n</c> steps are the real ones (the UCR loaders write them so, padding with
/// anything) plus a <see cref="LengthColumnName"/> holding <c>n</c>. The featurizer right-aligns each row, so the
/// output is exactly the memory after reading the row's own <c>n</c> steps from a zero state (steps before it are
/// zeros, which leave a zero state unchanged), and the padding is never read. The fitted transformer refuses a length
/// that is not a whole number from 1 to <c>SequenceLength</c> (<see cref="InvalidDataException"/> naming the column,
/// row and value; a cursor over <c>Transform</c>'s output wraps it in ML.NET's InvalidOperationException as its inner
/// exception, a PredictionEngine throws it as it is); a model loaded from its zip scores with ML.NET's own ONNX scorer, which gives NaN features for such a
/// row instead.</para>
/// </remarks>
public sealed class LmuFeaturizerOptions
{
    private static readonly OptionsGuard Guard = new("LmuFeaturizerOptions.");

    /// <summary>Name of the output column. Default "LmuFeatures".</summary>
    public string OutputColumnName { get; set; } = "LmuFeatures";

    /// <summary>Name of the input sequence column (fixed-size <c>Vector&lt;Single&gt;</c>). Default "Features".</summary>
    public string InputColumnName { get; set; } = "Features";

    /// <summary>
    /// Optional scalar <c>Single</c>, <c>Int32</c>, <c>UInt32</c> or <c>Int64</c> column with each row's number of valid steps (see the remarks of
    /// <see cref="LmuFeaturizerOptions"/>). Default <see langword="null"/>: every row has <c>SequenceLength</c> steps.
    /// </summary>
    public string? LengthColumnName { get; set; }

    /// <summary>
    /// Steps per row. Default <see langword="null"/>: the input vector's size divided by <see cref="Channels"/>,
    /// read from the schema at Fit.
    /// </summary>
    public int? SequenceLength { get; set; }

    /// <summary>Values per step (channels of a multivariate series). Default 1.</summary>
    public int Channels { get; set; } = 1;

    /// <summary>
    /// How the input column lays out several channels: <see cref="Classification.LmuInputLayout.StepMajor"/> (each step's
    /// channels side by side) or <see cref="Classification.LmuInputLayout.ChannelMajor"/> (each channel's steps one after
    /// another, as <c>Concatenate</c> of one column per channel makes; with a length column each channel's block holds
    /// its valid steps first). The graph reads either as it is, as the pooled featurizer and the classifier do; one
    /// channel reads the same in both. Default <see cref="Classification.LmuInputLayout.StepMajor"/>.
    /// </summary>
    public Classification.LmuInputLayout InputLayout { get; set; } = Classification.LmuInputLayout.StepMajor;

    /// <summary>Legendre coefficients per channel (the memory's order). Default 16.</summary>
    public int Order { get; set; } = 16;

    /// <summary>Window the memory represents, in steps. Default <see langword="null"/>: the sequence length.</summary>
    public double? Theta { get; set; }

    /// <summary>Discretisation of the continuous Legendre system. Default <see cref="LmuDiscretizer.Zoh"/>.</summary>
    public LmuDiscretizer Discretizer { get; set; } = LmuDiscretizer.Zoh;

    /// <summary>Per-row rescaling done inside the model before the memory. Default <see cref="LmuFeatureNormalization.None"/>.</summary>
    public LmuFeatureNormalization Normalization { get; set; } = LmuFeatureNormalization.None;

    /// <summary>
    /// Extra steps <c>p</c> (each in <c>[1, SequenceLength)</c>) at which the memory is also emitted, as read after the
    /// first <c>p</c> steps of the (right-aligned) row. Default empty. The last step is always emitted first.
    /// </summary>
    public IReadOnlyList<int> WindowPositions { get; set; } = [];

    /// <summary>
    /// Relative delays <c>r</c> in <c>[0, 1]</c> at which the window is decoded from the final memory
    /// (<c>u(T-1 - r*theta) ≈ sum_i P_i(2r-1) m_i</c>, see <see cref="LegendreDecoder"/>). Default empty.
    /// </summary>
    public IReadOnlyList<double> DecodedDelays { get; set; } = [];

    /// <summary>Checks the options that do not depend on the data; throws <see cref="ArgumentException"/> naming the option.</summary>
    public void Validate()
    {
        Guard.Require(!string.IsNullOrWhiteSpace(OutputColumnName), nameof(OutputColumnName), "must be a column name");
        Guard.Require(!string.IsNullOrWhiteSpace(InputColumnName), nameof(InputColumnName), "must be a column name");
        Guard.Require(LengthColumnName is null || LengthColumnName.Trim().Length > 0, nameof(LengthColumnName), "must be null or a column name");
        Guard.Require(SequenceLength is null or >= 1, nameof(SequenceLength), $"must be null or at least 1 but was {SequenceLength}");
        Guard.Require(Channels >= 1, nameof(Channels), $"must be at least 1 but was {Channels}");
        Guard.Require(Enum.IsDefined(InputLayout), nameof(InputLayout), $"is not a declared value ({(int)InputLayout})");
        Guard.Require(Order is >= 1 and <= Modules.LmuLayerOptions.MaxOrder, nameof(Order), $"must be in [1, {Modules.LmuLayerOptions.MaxOrder}] but was {Order}");
        Guard.Require(Theta is null || (Theta > 0 && double.IsFinite(Theta.Value)), nameof(Theta), string.Create(CultureInfo.InvariantCulture, $"must be null or finite and greater than 0 but was {Theta}"));
        Guard.Require(Discretizer is LmuDiscretizer.Zoh or LmuDiscretizer.Euler, nameof(Discretizer), $"must be Zoh or Euler but was {(int)Discretizer}");
        Guard.Require(Enum.IsDefined(Normalization), nameof(Normalization), $"is not a declared value ({(int)Normalization})");
        if (Discretizer == LmuDiscretizer.Euler && Theta is { } theta)
        {
            // A theta left null is the sequence length, checked at Fit.
            EulerStability.Require(Order, theta, $"{nameof(LmuFeaturizerOptions)}.{nameof(Theta)}");
        }

        Guard.Require(WindowPositions is not null, nameof(WindowPositions), "must not be null");
        Guard.Require(DecodedDelays is not null, nameof(DecodedDelays), "must not be null");
        foreach (var p in WindowPositions!)
        {
            Guard.Require(p >= 1 && (SequenceLength is null || p < SequenceLength), nameof(WindowPositions),
                $"must lie in [1, SequenceLength) but holds {p} (SequenceLength {SequenceLength?.ToString() ?? "from the column"}; the last step is always emitted)");
        }

        foreach (var r in DecodedDelays!)
        {
            Guard.Require(r is >= 0 and <= 1, nameof(DecodedDelays), string.Create(CultureInfo.InvariantCulture, $"must lie in [0, 1] but holds {r}"));
        }

        Guard.Require(OutputColumnName != LengthColumnName, nameof(LengthColumnName), "must differ from the output column");
    }

    /// <summary>A copy, so that an estimator is not changed by later edits of the caller's options.</summary>
    internal LmuFeaturizerOptions Clone() => new()
    {
        OutputColumnName = OutputColumnName,
        InputColumnName = InputColumnName,
        LengthColumnName = LengthColumnName,
        SequenceLength = SequenceLength,
        Channels = Channels,
        InputLayout = InputLayout,
        Order = Order,
        Theta = Theta,
        Discretizer = Discretizer,
        Normalization = Normalization,
        WindowPositions = WindowPositions.ToArray(),
        DecodedDelays = DecodedDelays.ToArray(),
    };
}
