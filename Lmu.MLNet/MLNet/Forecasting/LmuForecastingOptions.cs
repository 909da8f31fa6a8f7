using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Options of <c>mlContext.Forecasting.ForecastByLmu</c>. Training data comes in one of two layouts:
/// <list type="bullet">
/// <item>series: <see cref="SeriesColumnName"/> holds one value per row, rows in time order (as SSA expects); with
/// <see cref="SeriesIdColumnName"/> several series are stacked (rows of one series in time order). Sliding windows of
/// <see cref="WindowSize"/> values and the next <see cref="Horizon"/> values are cut from each series.</item>
/// <item>windows: <see cref="WindowColumnName"/> holds the last <see cref="WindowSize"/> values (Vector&lt;Single&gt;,
/// oldest first) and <see cref="LabelColumnName"/> the next <see cref="Horizon"/> values.</item>
/// </list>
/// The fitted model scores the window layout: <see cref="WindowColumnName"/> plus, per covariate, a
/// Vector&lt;Single, WindowSize&gt; column of the same name holding that covariate over the window
/// (<see cref="LmuForecastWindows"/> cuts such rows from a series); fitted on the series layout, its Transform also
/// reads series rows as windows (the saved zip scores windows only); the streaming engine takes the series one value at a time.
/// </summary>
/// <remarks>
/// Settings left unset come from the <see cref="Microsoft.ML.MLContext"/> that made the estimator: <c>Training.Seed</c>
/// from its seed, <c>Training.Device</c> from its GpuDeviceId/FallbackToCpu; progress goes to its Log; its cancellation
/// (ML.NET's CancelExecution, which is internal to ML.NET and used by AutoML) is honoured. From your own code, cancel
/// through <see cref="CancellationToken"/>.
/// </remarks>
public sealed class LmuForecastingOptions
{
    private static readonly OptionsGuard Guard = new($"{nameof(LmuForecastingOptions)}.");

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
    /// (training residuals when <see cref="ValidationFraction"/> is 0). A quantile on the wrong side of 0 (residuals
    /// leaning to one side) is taken as 0, so the bounds always hold the forecast. Default 0.95.
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

    /// <summary>
    /// A stack of LMU layers, input first; empty (default) for the one <see cref="Layer"/> (setting both is refused).
    /// Layer i &gt; 0 reads layer i-1's output at every step of the window: its InputSize is set to that layer's output
    /// width (the first layer's to 1 + the number of covariates), and each layer keeps its Theta. Each layer runs in its
    /// cheapest exact form while training and in the ONNX graph; the streaming engine re-runs the window through a
    /// stack (only a single feed-forward layer's memory can be slid). Default empty.
    /// </summary>
    public IReadOnlyList<LmuLayerOptions> Layers { get; set; } = [];

    /// <summary>Hidden dense layers of the head between the LMU and the Horizon outputs. Default none.</summary>
    public IReadOnlyList<int> HeadHiddenSizes { get; set; } = [];

    /// <summary>Activation of the head's hidden layers. Default <see cref="LmuActivation.Relu"/>.</summary>
    public LmuActivation HeadActivation { get; set; } = LmuActivation.Relu;

    /// <summary>Dropout before each head layer while training (never at scoring nor in the engine). Default 0.</summary>
    public double HeadDropout { get; set; }

    /// <summary>
    /// Optimisation settings. Default: <see cref="LmuTrainingOptions"/>'s defaults with 20 epochs: Epochs 20,
    /// BatchSize 64, LearningRate 1e-3 (Adam), Schedule <see cref="LearningRateSchedule.Cosine"/>, WeightDecay 0 (AdamW
    /// when &gt; 0), GradientClipNorm 1.0 (0 = off), EarlyStoppingPatience 0 (off; when &gt; 0 it needs
    /// <see cref="ValidationFraction"/> &gt; 0 and restores the best epoch's weights), ScanStateBudgetMiB 1024, Seed null (the next value of the
    /// MLContext's seeded stream; the seed drives weights, dropout and shuffling) and Device null (follows the MLContext:
    /// its GpuDeviceId selects "cuda:N", and when CUDA is absent FallbackToCpu decides between the CPU and an error).
    /// </summary>
    public LmuTrainingOptions Training { get; set; } = new() { Epochs = 20 };

    /// <summary>Training loss on the scaled horizon values. Default <see cref="LmuLoss.MeanSquaredError"/> (CrossEntropy is refused).</summary>
    public LmuLoss Loss { get; set; } = LmuLoss.MeanSquaredError;

    /// <summary>
    /// Share of windows held out for validation (early stopping and bounds): the last windows of each series in time
    /// (the last rows in the window layout, or the last series when each series yields one window). Default 0.1.
    /// </summary>
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Series layout: distance between the end points of consecutive training windows. Default 1.</summary>
    public int WindowStride { get; set; } = 1;

    /// <summary>
    /// Training streams its windows: every epoch reads the data again and cuts windows on the fly, so memory holds this
    /// many series values (points: rows of the series layout, WindowSize + Horizon per row of the window layout; each
    /// point is 8 bytes per channel) plus one series, never every window. Consecutive series are gathered until they
    /// hold this many points and their windows are shuffled together; data with at most this many points is shuffled
    /// as a whole. Raise it for better mixing of many short series, lower it to bound memory. Default 1,000,000 (8 MB
    /// per channel). Series rows must be consecutive to stream; interleaved series are read into memory (with a warning).
    /// </summary>
    public long ShufflePoolPoints { get; set; } = 1_000_000;

    /// <summary>
    /// Torch intra-op threads during Fit (Fit's thread gets this count and its own back after; other threads are left
    /// alone); 0 leaves torch's setting as it is. Default 1: the LMU's steps are small products and many short ops,
    /// which a second thread barely speeds up, and on a machine whose cores are busy libtorch's threads wait for
    /// descheduled peers (measurements in <see cref="Classification.LmuClassifierOptions.TorchThreads"/>). Raise it on
    /// a machine with idle cores for large networks, after measuring.
    /// </summary>
    public int TorchThreads { get; set; } = 1;

    /// <summary>Called synchronously after every epoch (in addition to the MLContext's Log). Default null.</summary>
    public IProgress<LmuEpochReport>? Progress { get; set; }

    /// <summary>Stops training within one batch; Fit then throws <see cref="OperationCanceledException"/> and returns no model. Default none.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// A copy whose layer options, training options and column/width lists are copies too (Progress and the cancellation
    /// token are shared: they are references to the caller's objects by design).
    /// </summary>
    public LmuForecastingOptions Clone()
    {
        var copy = (LmuForecastingOptions)MemberwiseClone();
        copy.Layer = Layer?.Clone();
        copy.Layers = Layers?.Select(l => l?.Clone()!).ToArray()!;
        copy.CovariateColumnNames = CovariateColumnNames.ToArray();
        copy.HeadHiddenSizes = HeadHiddenSizes.ToArray();
        copy.Training = Training.Clone();
        return copy;
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first invalid setting by its path and value, e.g.
    /// "LmuForecastingOptions.Training.Epochs = 0 must be at least 1." (parameter name "Training.Epochs"), or
    /// <see cref="ArgumentNullException"/> for a null CovariateColumnNames, HeadHiddenSizes, Layers or Training; both
    /// Layer and Layers set is an <see cref="ArgumentException"/> naming them.
    /// </summary>
    public void Validate()
    {
        Guard.Require(WindowSize >= 1, nameof(WindowSize), WindowSize, "must be at least 1");
        Guard.Require(Horizon >= 1, nameof(Horizon), Horizon, "must be at least 1");
        // Their sum is a training row's length: int.MaxValue for either overflowed it into "ValidationFraction leaves no
        // training windows" (found by QA).
        Guard.Require((long)WindowSize + Horizon <= int.MaxValue, nameof(Horizon), Horizon, $"plus WindowSize = {WindowSize} must be at most {int.MaxValue} (a training window holds WindowSize + Horizon values)");
        Guard.Require(!string.IsNullOrWhiteSpace(WindowColumnName), nameof(WindowColumnName), WindowColumnName, "must name a column");
        Guard.Require(!string.IsNullOrWhiteSpace(OutputColumnName), nameof(OutputColumnName), OutputColumnName, "must name a column");
        Guard.Require(SeriesColumnName is not null || !string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName,
            "must name the horizon column when no SeriesColumnName is given");
        // Regression QA: a blank bound name failed in ML.NET's words ("OutputColumns cannot be null or white space").
        Guard.Require(LowerBoundColumnName is null || !string.IsNullOrWhiteSpace(LowerBoundColumnName), nameof(LowerBoundColumnName), $"\"{LowerBoundColumnName}\"", "must be null or name a column");
        Guard.Require(UpperBoundColumnName is null || !string.IsNullOrWhiteSpace(UpperBoundColumnName), nameof(UpperBoundColumnName), $"\"{UpperBoundColumnName}\"", "must be null or name a column");
        Guard.Require((LowerBoundColumnName is null) == (UpperBoundColumnName is null), nameof(LowerBoundColumnName), LowerBoundColumnName ?? "null",
            $"and UpperBoundColumnName ({UpperBoundColumnName ?? "null"}) must both be set or both be null");
        Guard.Require(ConfidenceLevel is > 0 and < 1, nameof(ConfidenceLevel), ConfidenceLevel, "must be in (0, 1)");
        Guard.Require(ValidationFraction is >= 0 and < 1, nameof(ValidationFraction), ValidationFraction, "must be in [0, 1)");
        Guard.Require(WindowStride >= 1, nameof(WindowStride), WindowStride, "must be at least 1");
        Guard.Require(ShufflePoolPoints >= 1, nameof(ShufflePoolPoints), ShufflePoolPoints, "must be at least 1");
        Guard.Require(TorchThreads >= 0, nameof(TorchThreads), TorchThreads, "must be 0 (leave as is) or positive");
        Guard.Require(Enum.IsDefined(Scaling), nameof(Scaling), Scaling, "is not a known scaling");
        Guard.Require(Enum.IsDefined(HeadActivation), nameof(HeadActivation), HeadActivation, $"must be one of {string.Join(", ", Enum.GetNames<LmuActivation>())}");
        Guard.Require(Loss is LmuLoss.MeanSquaredError or LmuLoss.MeanAbsoluteError, nameof(Loss), Loss, "must be MeanSquaredError or MeanAbsoluteError");
        Guard.NotNull(CovariateColumnNames, nameof(CovariateColumnNames));
        // API QA: an empty or blank name passed and failed at Fit inside ML.NET ("Value cannot be null. (Parameter
        // 'name')"), naming neither the option nor the value.
        Guard.Require(SeriesColumnName is null || !string.IsNullOrWhiteSpace(SeriesColumnName), nameof(SeriesColumnName), $"\"{SeriesColumnName}\"", "must be null or name a column");
        Guard.Require(SeriesIdColumnName is null || !string.IsNullOrWhiteSpace(SeriesIdColumnName), nameof(SeriesIdColumnName), $"\"{SeriesIdColumnName}\"", "must be null or name a column");
        for (var i = 0; i < CovariateColumnNames.Count; i++)
        {
            Guard.Require(!string.IsNullOrWhiteSpace(CovariateColumnNames[i]), $"{nameof(CovariateColumnNames)}[{i}]", CovariateColumnNames[i] is null ? null : $"\"{CovariateColumnNames[i]}\"", "must name a column");
        }

        Guard.NotNull(HeadHiddenSizes, nameof(HeadHiddenSizes));
        Guard.NotNull(Training, nameof(Training));
        var resolved = ResolveLayers();
        for (var i = 0; i < resolved.Count; i++)
        {
            // The forecast engine streams: it carries each layer's memory from step to step, which a window has not.
            var name = Layers is { Count: > 0 } ? $"Layers[{i}].ImpulseTruncation" : "Layer.ImpulseTruncation";
            Guard.Require(resolved[i] is not { ImpulseTruncation: > 0 }, name, resolved[i]?.ImpulseTruncation ?? 0,
                "must be 0: forecasts stream a recurrent memory state, which a truncated (windowed) memory does not have");
        }


        var names = new List<string> { WindowColumnName };
        names.AddRange(CovariateColumnNames);
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        Guard.Require(duplicate is null, nameof(CovariateColumnNames), string.Join(", ", CovariateColumnNames),
            $"repeats the column '{duplicate?.Key}' (covariates and the window column must be distinct)");
        // The carried graph names its inputs and outputs after these columns: a repeat failed only after training, as an
        // invalid ONNX model ("Duplicate definition of name"; found by QA).
        var outputs = new[] { (nameof(OutputColumnName), OutputColumnName), (nameof(LowerBoundColumnName), LowerBoundColumnName), (nameof(UpperBoundColumnName), UpperBoundColumnName) }
            .Where(o => o.Item2 is not null).ToArray();
        foreach (var (option, column) in outputs)
        {
            Guard.Require(!names.Contains(column!), option, column!, "must differ from the window and covariate columns the model reads");
            var other = outputs.FirstOrDefault(o => o.Item1 != option && o.Item2 == column);
            Guard.Require(other.Item1 is null, option, column!, $"must differ from {other.Item1} (each output is a column of its own)");
        }

        // The series layout's own columns: each accepted before and failed only at scoring, or hid a column (found by QA).
        if (SeriesColumnName is { } series)
        {
            Guard.Require(SeriesIdColumnName != series, nameof(SeriesIdColumnName), SeriesIdColumnName ?? "null", "must differ from SeriesColumnName (the id names the series, not its values)");
            Guard.Require(!CovariateColumnNames.Contains(series), nameof(CovariateColumnNames), string.Join(", ", CovariateColumnNames),
                $"holds the series column '{series}' (the series is the target; its past values are already the window)");
            Guard.Require(SeriesIdColumnName is null || !CovariateColumnNames.Contains(SeriesIdColumnName), nameof(CovariateColumnNames),
                string.Join(", ", CovariateColumnNames), $"holds the series id column '{SeriesIdColumnName}'");
            string[] layout = SeriesIdColumnName is null ? [series] : [series, SeriesIdColumnName];
            Guard.Require(!layout.Contains(WindowColumnName), nameof(WindowColumnName), WindowColumnName,
                "must differ from the series and series id columns (series rows are scored with the window added under this name)");
            foreach (var (option, column) in outputs)
            {
                Guard.Require(!layout.Contains(column!), option, column!, "must differ from the series and series id columns (the output would hide them)");
            }
        }

        // Per-window scaling divides by the window's own spread, which one value does not have.
        Guard.Require(Scaling != LmuForecastScaling.PerWindow || WindowSize >= 2, nameof(WindowSize), WindowSize,
            "must be at least 2 with Scaling = PerWindow (a one-value window scales to 0, so every forecast is the same); use Scaling = Global");
        Guard.Require(HeadHiddenSizes.All(h => h >= 1), nameof(HeadHiddenSizes), $"[{string.Join(", ", HeadHiddenSizes)}]", "must hold widths of at least 1");
        Guard.Require(HeadDropout is >= 0 and < 1, nameof(HeadDropout), HeadDropout, "must be in [0, 1)");
        Training.Validate(nameof(LmuForecastingOptions), nameof(Training));

        // Without held-out windows the trainer has no validation loss to stop on, so a patience would be ignored silently.
        Guard.Require(Training.EarlyStoppingPatience == 0 || ValidationFraction > 0,
            $"{nameof(Training)}.{nameof(Training.EarlyStoppingPatience)}", Training.EarlyStoppingPatience, "needs validation data (ValidationFraction > 0)");

        // The layers as the Fit will build them (the default's theta is the window): a bad layer option was refused only
        // at Fit (found in review, with an Euler theta below its stability bound).
        NetworkOptions(1 + CovariateColumnNames.Count).Validate();
    }

    /// <summary>
    /// The network for <paramref name="channels"/> input channels: the layers (each InputSize chained from the channels)
    /// and the head, with <see cref="Horizon"/> outputs.
    /// </summary>
    internal LmuNetworkOptions NetworkOptions(int channels)
    {
        var layers = new List<LmuLayerOptions>();
        var width = channels;
        foreach (var layer in ResolveLayers())
        {
            // A caller's layer keeps its theta; only the forecasting default spans the window (LmuLayerOptions.ThetaForSteps).
            layers.Add(layer is null ? DefaultLayer.For(width, WindowSize) : layer.For(width));
            width = layers[^1].OutputSize;
        }

        var network = new LmuNetworkOptions
        {
            HeadHiddenSizes = HeadHiddenSizes.ToArray(), HeadActivation = HeadActivation, HeadDropout = HeadDropout,
            OutputSize = Horizon,
        };

        network.UseLayers(layers, asStack: Layers is { Count: > 0 });
        return network;
    }

    // The stack; a null entry stands for the forecasting default layer (Layer unset, no Layers).
    private IReadOnlyList<LmuLayerOptions?> ResolveLayers()
    {
        if (Layers is { Count: 0 } && Layer is null)
        {
            return new LmuLayerOptions?[] { null };
        }

        return LmuLayerStack.Resolve(Guard, Layers, Layer ?? DefaultLayer, Layer is not null);
    }

    private static LmuLayerOptions DefaultLayer => new()
    {
        MemoryD = 4, Order = 32, HiddenCell = HiddenCell.Dense, HiddenUnits = 64,
        HiddenActivation = LmuActivation.Tanh, InputToHidden = true,
    };
}
