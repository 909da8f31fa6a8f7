using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;

namespace Lmu.MLNet.MLNet.Forecasting;

/// <summary>
/// Options of <c>mlContext.Forecasting.ForecastByLmu</c>. Training data comes in one of two layouts:
/// <list type="bullet">
/// <item>series: <see cref="SeriesColumnName"/> holds one value per row, rows in time order (as SSA expects); with
/// <see cref="SeriesIdColumnName"/> several series are stacked (rows of one series in time order). Sliding windows of
/// <see cref="WindowSize"/> values and the next <see cref="Horizon"/> values are cut from each series.</item>
/// <item>windows: <see cref="WindowColumnName"/> holds the last <see cref="WindowSize"/> values (Vector&lt;Single&gt;,
/// oldest first) and <see cref="LabelColumnName"/> the next <see cref="Horizon"/> values.</item>
/// </list>
/// The fitted model always scores the window layout: <see cref="WindowColumnName"/> plus, per covariate, a
/// Vector&lt;Single, WindowSize&gt; column of the same name holding that covariate over the window
/// (<see cref="LmuForecastWindows"/> cuts such rows from a series); the streaming engine takes the series one value at a time.
/// </summary>
public sealed class LmuForecastingOptions
{
    /// <summary>Series layout: the scalar Single column of values, rows in time order. Default null (window layout).</summary>
    public string? SeriesColumnName { get; set; }

    /// <summary>Series layout: a column naming the series of each row (Text or a number), for many series. Default null (one series).</summary>
    public string? SeriesIdColumnName { get; set; }

    /// <summary>The window column (Vector&lt;Single, WindowSize&gt;, oldest first): the scoring input, and the training input of the window layout. Default "Window".</summary>
    public string WindowColumnName { get; set; } = "Window";

    /// <summary>Window layout: the next <see cref="Horizon"/> values (Vector&lt;Single, Horizon&gt;). Default "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>
    /// Covariates fed beside the series as extra input channels (multivariate input): scalar Single columns in the
    /// series layout, Vector&lt;Single, WindowSize&gt; columns in the window layout and at scoring. Each is scaled by its
    /// training mean and standard deviation. Default none.
    /// </summary>
    public IReadOnlyList<string> CovariateColumnNames { get; set; } = [];

    /// <summary>The forecast output column, Vector&lt;Single, Horizon&gt;. Default "Forecast".</summary>
    public string OutputColumnName { get; set; } = "Forecast";

    /// <summary>Lower bound output column (Vector&lt;Single, Horizon&gt;); null for none. Default null.</summary>
    public string? LowerBoundColumnName { get; set; }

    /// <summary>Upper bound output column (Vector&lt;Single, Horizon&gt;); null for none. Default null.</summary>
    public string? UpperBoundColumnName { get; set; }

    /// <summary>
    /// Coverage of the bounds: per horizon step, the (1 - level)/2 and (1 + level)/2 empirical quantiles (linear
    /// interpolation) of the validation residuals in scaled units, added to the scaled forecast and unscaled with it
    /// (training residuals when <see cref="ValidationFraction"/> is 0). Default 0.95.
    /// </summary>
    public double ConfidenceLevel { get; set; } = 0.95;

    /// <summary>Input window length T (the LMU reads T steps per forecast). Required, at least 1.</summary>
    public int WindowSize { get; set; }

    /// <summary>Number of future values forecast at once. Required, at least 1.</summary>
    public int Horizon { get; set; }

    /// <summary>Normalisation of the series. Default <see cref="LmuForecastScaling.Global"/>.</summary>
    public LmuForecastScaling Scaling { get; set; } = LmuForecastScaling.Global;

    /// <summary>
    /// The LMU layer; null (default) means the forecasting default: MemoryD 4, Order 32, Theta = WindowSize, a Dense
    /// hidden cell of 64 Tanh units fed the memory and the last input (InputToHidden), whose state the streaming engine
    /// slides in O(q^2) per step. InputSize is always set to 1 + the number of covariates.
    /// </summary>
    public LmuLayerOptions? Layer { get; set; }

    /// <summary>Hidden dense layers of the head between the LMU and the Horizon outputs. Default none.</summary>
    public IReadOnlyList<int> HeadHiddenSizes { get; set; } = [];

    /// <summary>Activation of the head's hidden layers. Default <see cref="LmuActivation.Relu"/>.</summary>
    public LmuActivation HeadActivation { get; set; } = LmuActivation.Relu;

    /// <summary>Optimisation settings. Default: <see cref="LmuTrainingOptions"/>'s defaults with 20 epochs and seed 1.</summary>
    public LmuTrainingOptions Training { get; set; } = new() { Epochs = 20, Seed = 1 };

    /// <summary>Training loss on the scaled horizon values. Default <see cref="LmuLoss.MeanSquaredError"/> (CrossEntropy is refused).</summary>
    public LmuLoss Loss { get; set; } = LmuLoss.MeanSquaredError;

    /// <summary>
    /// Share of windows held out for validation (early stopping and bounds): the last windows of each series in time
    /// (the last rows in the window layout, or the last series when each series yields one window). Default 0.1.
    /// </summary>
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Series layout: distance between the end points of consecutive training windows. Default 1.</summary>
    public int WindowStride { get; set; } = 1;

    /// <summary>Receives one report per epoch. Default null.</summary>
    public IProgress<LmuEpochReport>? Progress { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and its value.</summary>
    public void Validate()
    {
        Require(WindowSize >= 1, nameof(WindowSize), WindowSize, "must be at least 1");
        Require(Horizon >= 1, nameof(Horizon), Horizon, "must be at least 1");
        Require(!string.IsNullOrWhiteSpace(WindowColumnName), nameof(WindowColumnName), WindowColumnName, "must name a column");
        Require(!string.IsNullOrWhiteSpace(OutputColumnName), nameof(OutputColumnName), OutputColumnName, "must name a column");
        Require(SeriesColumnName is not null || !string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName,
            "must name the horizon column when no SeriesColumnName is given");
        Require((LowerBoundColumnName is null) == (UpperBoundColumnName is null), nameof(LowerBoundColumnName), LowerBoundColumnName ?? "null",
            $"and UpperBoundColumnName ({UpperBoundColumnName ?? "null"}) must both be set or both be null");
        Require(ConfidenceLevel is > 0 and < 1, nameof(ConfidenceLevel), ConfidenceLevel, "must be in (0, 1)");
        Require(ValidationFraction is >= 0 and < 1, nameof(ValidationFraction), ValidationFraction, "must be in [0, 1)");
        Require(WindowStride >= 1, nameof(WindowStride), WindowStride, "must be at least 1");
        Require(Enum.IsDefined(Scaling), nameof(Scaling), Scaling, "is not a known scaling");
        Require(Loss is LmuLoss.MeanSquaredError or LmuLoss.MeanAbsoluteError, nameof(Loss), Loss, "must be MeanSquaredError or MeanAbsoluteError");
        ArgumentNullException.ThrowIfNull(CovariateColumnNames, nameof(CovariateColumnNames));
        ArgumentNullException.ThrowIfNull(Training, nameof(Training));
        var names = new List<string> { WindowColumnName };
        names.AddRange(CovariateColumnNames);
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        Require(duplicate is null, nameof(CovariateColumnNames), string.Join(", ", CovariateColumnNames),
            $"repeats the column '{duplicate?.Key}' (covariates and the window column must be distinct)");
        Training.Validate();
    }

    /// <summary>The layer options used for <paramref name="channels"/> input channels.</summary>
    internal LmuLayerOptions ResolveLayer(int channels)
    {
        var layer = Layer?.Clone() ?? new LmuLayerOptions
        {
            MemoryD = 4, Order = 32, Theta = WindowSize, HiddenCell = HiddenCell.Dense, HiddenUnits = 64,
            HiddenActivation = LmuActivation.Tanh, InputToHidden = true,
        };
        layer.InputSize = channels;
        return layer;
    }

    private static void Require(bool ok, string name, object value, string rule)
    {
        if (!ok)
        {
            throw new ArgumentException($"Forecasting option {name} = {value} {rule}.", name);
        }
    }
}
