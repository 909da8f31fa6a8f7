using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Classification;

/// <summary>
/// Everything the LMU sequence classifier can be told: columns, input shape, the LMU layer, the dense head and
/// training. Each row's features are a flattened sequence, step-major by default: <c>[x(0,0..C-1), x(1,0..C-1), ...]</c>
/// (see <see cref="InputLayout"/>).
/// </summary>
/// <remarks>
/// Settings left unset come from the <see cref="MLContext"/> that made the estimator: <c>Training.Seed</c> from its seed,
/// <c>Training.Device</c> from its GpuDeviceId/FallbackToCpu; progress goes to its Log; its cancellation is honoured.
/// </remarks>
public sealed class LmuClassifierOptions
{
    private static readonly OptionsGuard Guard = new($"{nameof(LmuClassifierOptions)}.");
    private LmuLayerStack _stack = new();

    /// <summary>
    /// Label column: a key (conventional, after MapValueToKey), text or Boolean. Default "Label". Numbers are refused
    /// with a message saying to add MapValueToKey: ML.NET's multiclass evaluator would read them as class indices and
    /// report wrong metrics, and ML.NET's own multiclass trainers refuse them too. Text labels are classes as written
    /// (" a" and "a" are two), as MapValueToKey reads them; an empty text is a missing label, its row left out.
    /// </summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>
    /// Features column: Vector&lt;Single&gt; of SequenceLength x Channels values, or a VarVector&lt;Single&gt; (the longest row
    /// sets the length; the fitted model's <c>Transform</c> pads such rows as training did, while a PredictionEngine
    /// needs the fixed-size vector). Default "Features".
    /// </summary>
    public string FeatureColumnName { get; set; } = "Features";

    /// <summary>
    /// Optional sequence-length column: a Single, Int32, UInt32 or Int64 scalar n with 1 &lt;= n &lt;= SequenceLength (for a
    /// VarVector features column: at most the row's own steps). Each row's first n steps are real and the rest padding;
    /// the model reads the output at step n-1, exactly as if the row had only n steps, and padding is never read. Fixed-
    /// size rows are padded at the end; VarVector rows are padded at the end to SequenceLength. Scoring needs the column
    /// too (same type); the fitted transformer refuses a length outside [1, SequenceLength] or fractional with an
    /// <see cref="InvalidDataException"/> (a PredictionEngine throws it; a cursor over <c>Transform</c>'s output wraps it
    /// in ML.NET's InvalidOperationException as its inner exception; a loaded zip's ONNX scorer answers NaN scores and no
    /// class instead). Null
    /// (default): every row is its full length
    /// (VarVector rows are then left-padded with zeros).
    /// </summary>
    public string? LengthColumnName { get; set; }

    /// <summary>Output score column, Vector&lt;Single, K&gt; of class probabilities with SlotNames. Default "Score".</summary>
    public string ScoreColumnName { get; set; } = "Score";

    /// <summary>Output predicted-label column, a key carrying the label's values. Default "PredictedLabel".</summary>
    public string PredictedLabelColumnName { get; set; } = "PredictedLabel";

    /// <summary>
    /// Steps per sequence T. 0 infers it: the vector size / <see cref="Channels"/> for a fixed-size column, the longest
    /// row for a VarVector column. Default 0.
    /// </summary>
    public int SequenceLength { get; set; }

    /// <summary>Channels C per time step. Default 1.</summary>
    public int Channels { get; set; } = 1;

    /// <summary>
    /// How the features vector holds the channels: <see cref="LmuInputLayout.StepMajor"/> (each step's channels side by
    /// side) or <see cref="LmuInputLayout.ChannelMajor"/> (each channel's steps one after another, as
    /// <c>Concatenate</c> of one column per channel gives; fixed-size columns only). The saved model reads the same
    /// layout. Default <see cref="LmuInputLayout.StepMajor"/>.
    /// </summary>
    public LmuInputLayout InputLayout { get; set; } = LmuInputLayout.StepMajor;

    /// <summary>
    /// The LMU layer of a one-layer network (every option of the core with its documented default, e.g. Order 64,
    /// HiddenCell SimpleRnn with 64 units): shorthand for <c>Layers = [Layer]</c>. Its InputSize is always set to
    /// <see cref="Channels"/>. Its Theta is used as given unless <see cref="ThetaFromSequenceLength"/> is true. When
    /// <see cref="Layers"/> is non-empty this is <c>Layers[0]</c> (an edit through it edits the stack's first layer);
    /// assigning <c>Layer</c> as well as <c>Layers</c>, or editing it before <c>Layers</c> is set, is refused by
    /// <see cref="Validate"/>.
    /// </summary>
    public LmuLayerOptions Layer
    {
        get => _stack.Get(Layers);
        set => _stack.Set(value);
    }

    /// <summary>
    /// A stack of LMU layers, input first; empty (default) for the one <see cref="Layer"/>. Layer i &gt; 0 reads layer
    /// i-1's output at every step: its InputSize is set to that layer's output width (the first layer's to
    /// <see cref="Channels"/>), so it need not be given. Each layer runs in its cheapest exact form while training
    /// (parallel when its memory has no recurrent input, the fused scan otherwise) and in the exported graph
    /// (convolution or MatMul, or an ONNX Scan). Default empty.
    /// </summary>
    public IReadOnlyList<LmuLayerOptions> Layers { get; set; } = [];

    /// <summary>Set every layer's Theta to the sequence length (the window spans the whole sequence). Default true.</summary>
    public bool ThetaFromSequenceLength { get; set; } = true;

    /// <summary>
    /// What the head reads from the last LMU layer: each row's last step, the mean (and max) of its output over the
    /// row's steps, which finds a pattern wherever it occurs, or the last step and both pools side by side (see
    /// <see cref="LmuReadout"/>). Default
    /// <see cref="LmuReadout.LastStep"/>.
    /// </summary>
    public LmuReadout Readout { get; set; } = LmuReadout.LastStep;

    /// <summary>Widths of the head's hidden dense layers. Default none (one linear layer to the K classes).</summary>
    public IReadOnlyList<int> HeadHiddenSizes { get; set; } = [];

    /// <summary>Activation of the head's hidden layers. Default <see cref="LmuActivation.Relu"/>.</summary>
    public LmuActivation HeadActivation { get; set; } = LmuActivation.Relu;

    /// <summary>Dropout before each head layer while training. Default 0.</summary>
    public double HeadDropout { get; set; }

    /// <summary>
    /// Optimisation settings. Default: <see cref="LmuTrainingOptions"/>'s defaults: Epochs 10, BatchSize 64,
    /// LearningRate 1e-3 (Adam), Schedule <see cref="LearningRateSchedule.Cosine"/>, WeightDecay 0 (AdamW when &gt; 0),
    /// GradientClipNorm 1.0 (0 = off), EarlyStoppingPatience 0 (off; when &gt; 0 it needs <see cref="ValidationData"/> or
    /// <see cref="ValidationFraction"/> &gt; 0 and keeps the best epoch's weights), ScanStateBudgetMiB 1024, Seed null (the next value of the
    /// MLContext's seeded stream; the seed drives weights, dropout, shuffling and the validation split) and Device null
    /// (follows the MLContext: its GpuDeviceId selects "cuda:N", and when CUDA is absent FallbackToCpu decides between the
    /// CPU and an error).
    /// </summary>
    public LmuTrainingOptions Training { get; set; } = new();

    /// <summary>
    /// Fraction of the training rows held out (a seeded random split) to validate after each epoch; 0 for none.
    /// Ignored when <see cref="ValidationData"/> is set. Default 0.
    /// </summary>
    public double ValidationFraction { get; set; }

    /// <summary>Validation rows (same columns as the training data); null for none. Default null.</summary>
    public IDataView? ValidationData { get; set; }

    /// <summary>
    /// Rows kept in the shuffle pool (each row read gives a random one of the pool; the rest leave in random order at the
    /// end); at most the training rows. Default 1000, as ML.NET's ShuffleRows. A pool larger than one array or than the
    /// memory the process may still take is refused before training.
    /// </summary>
    public int ShufflePoolSize { get; set; } = 1000;

    /// <summary>
    /// Torch intra-op threads while training, on the thread that runs the Fit only (libtorch counts per thread: the
    /// Fit's thread gets this count and its own back after; other threads, and the value new threads start with, are
    /// left alone); 0 leaves torch's setting as it is. Default 1. Why one: the LMU's steps are small products and many short
    /// ops, which a second thread barely speeds up, and on a machine whose cores are busy libtorch's OpenMP threads wait
    /// for descheduled peers. Measured on a 2-core AMD EPYC VM (the `classify` command on ECG200, 300 epochs): 6.2-7.0 s
    /// at 1 thread against 8.6-10.9 s at 2 on an idle machine, and 12.2-13.0 s against 50-84 s with two busy processes
    /// beside it; psMNIST's network (2 epochs of 10,000 rows) 7.2-7.4 s against 6.4-8.2 s. Raise it on a machine with
    /// idle cores for large networks, after measuring.
    /// </summary>
    public int TorchThreads { get; set; } = 1;

    /// <summary>Called synchronously after every epoch (in addition to the MLContext's Log). Default null.</summary>
    public IProgress<LmuEpochReport>? Progress { get; set; }

    /// <summary>Stops training within one batch; Fit then throws <see cref="OperationCanceledException"/> and returns no model. Default none.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>
    /// A copy whose layer options, head sizes and training options are copies too (ValidationData, Progress and the
    /// cancellation token are shared: they are references to the caller's objects by design).
    /// </summary>
    public LmuClassifierOptions Clone()
    {
        var copy = (LmuClassifierOptions)MemberwiseClone();
        copy._stack = _stack.Clone();
        copy.Layers = Layers?.Select(l => l?.Clone()!).ToArray()!;
        copy.HeadHiddenSizes = HeadHiddenSizes.ToArray();
        copy.Training = Training.Clone();
        return copy;
    }

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first invalid setting by its path and value, e.g.
    /// "LmuClassifierOptions.Training.Epochs = 0 must be at least 1." (parameter name "Training.Epochs"), or
    /// <see cref="ArgumentNullException"/> for a null Layer, Layers, HeadHiddenSizes or Training; both Layer and Layers
    /// used is an <see cref="ArgumentException"/> naming them. The data-dependent checks (columns, values, classes) run
    /// when the estimator fits.
    /// </summary>
    public void Validate()
    {
        Guard.Require(!string.IsNullOrWhiteSpace(FeatureColumnName), nameof(FeatureColumnName), FeatureColumnName, "must name a column");
        Guard.Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "must name a column");
        Guard.Require(!string.IsNullOrWhiteSpace(ScoreColumnName), nameof(ScoreColumnName), ScoreColumnName, "must name a column");
        Guard.Require(LengthColumnName is null || !string.IsNullOrWhiteSpace(LengthColumnName), nameof(LengthColumnName), LengthColumnName, "must be null or name a column");
        Guard.Require(!string.IsNullOrWhiteSpace(PredictedLabelColumnName), nameof(PredictedLabelColumnName), PredictedLabelColumnName, "must name a column");
        // The carried graph reads the features (and length) and writes the score under these names: a repeat failed only
        // after training, as an invalid ONNX model, or hid the score silently (found by QA).
        Guard.Require(ScoreColumnName != PredictedLabelColumnName, nameof(ScoreColumnName), ScoreColumnName, $"must differ from PredictedLabelColumnName ('{PredictedLabelColumnName}'), or one output hides the other");
        // Only the score is a name in the graph; the predicted label is made after it by ML.NET and may shadow an input.
        Guard.Require(ScoreColumnName != FeatureColumnName && ScoreColumnName != LengthColumnName, nameof(ScoreColumnName), ScoreColumnName,
            $"must differ from the columns the model reads (FeatureColumnName '{FeatureColumnName}'{(LengthColumnName is null ? string.Empty : $", LengthColumnName '{LengthColumnName}'")})");
        // An output named as the label hides it, and Evaluate then compares the prediction with itself (QA: accuracy 1.000 for 0.350).
        Guard.Require(ScoreColumnName != LabelColumnName && PredictedLabelColumnName != LabelColumnName, nameof(LabelColumnName), LabelColumnName,
            "must differ from ScoreColumnName and PredictedLabelColumnName, or the output hides the label that Evaluate reads");

        Guard.Require(Channels >= 1, nameof(Channels), Channels, "must be at least 1");
        Guard.Require(SequenceLength >= 0, nameof(SequenceLength), SequenceLength, "must be 0 (infer) or positive");
        Guard.Require(Enum.IsDefined(InputLayout), nameof(InputLayout), InputLayout, $"must be one of {string.Join(", ", Enum.GetNames<LmuInputLayout>())}");
        Guard.Require(ValidationFraction is >= 0 and < 1, nameof(ValidationFraction), ValidationFraction, "must be in [0, 1)");
        Guard.Require(ShufflePoolSize >= 1, nameof(ShufflePoolSize), ShufflePoolSize, "must be at least 1");
        Guard.Require(TorchThreads >= 0, nameof(TorchThreads), TorchThreads, "must be 0 (leave as is) or positive");
        Guard.NotNull(HeadHiddenSizes, nameof(HeadHiddenSizes));
        Guard.NotNull(Training, nameof(Training));
        Guard.Require(HeadHiddenSizes.All(h => h >= 1), nameof(HeadHiddenSizes), $"[{string.Join(", ", HeadHiddenSizes)}]", "must hold widths of at least 1");
        Guard.Require(HeadDropout is >= 0 and < 1, nameof(HeadDropout), HeadDropout, "must be in [0, 1)");
        Guard.Require(Enum.IsDefined(Readout), nameof(Readout), Readout, $"must be one of {string.Join(", ", Enum.GetNames<LmuReadout>())}");
        // Refused in the activation's own words at the first forward pass before ("Unknown activation"; found by QA).
        Guard.Require(Enum.IsDefined(HeadActivation), nameof(HeadActivation), HeadActivation, $"must be one of {string.Join(", ", Enum.GetNames<LmuActivation>())}");
        Training.Validate(nameof(LmuClassifierOptions), nameof(Training));

        // Checked here rather than at Fit: whether validation data exists is known from the options alone.
        Guard.Require(Training.EarlyStoppingPatience == 0 || ValidationData is not null || ValidationFraction > 0,
            $"{nameof(Training)}.{nameof(Training.EarlyStoppingPatience)}", Training.EarlyStoppingPatience,
            "needs validation data (ValidationData or ValidationFraction > 0)");
        // With ThetaFromSequenceLength each layer's Theta is replaced by the sequence length at Fit, where the network is
        // validated again: a theta-dependent check (Euler's stability bound) must not judge the placeholder now (found in
        // review: the default Theta 64 refused an order-32 Euler layer that rows of 300 steps would have run).
        var network = NetworkOptions(2, ThetaFromSequenceLength ? int.MaxValue : null);
        network.Validate();
        var layers = network.ResolveLayers();
        for (var i = 0; i < layers.Count; i++)
        {
            // The saved model computes a truncated memory by the ONNX feed-forward form, which reads None and Dense cells
            // only: refused before training rather than at the export after it.
            var name = Layers is { Count: > 0 } ? $"Layers[{i}].ImpulseTruncation" : "Layer.ImpulseTruncation";
            Guard.Require(layers[i].ImpulseTruncation == 0 || layers[i].HiddenCell is HiddenCell.None or HiddenCell.Dense, name, layers[i].ImpulseTruncation,
                $"needs a None or Dense hidden cell (the saved model computes a truncated memory in its feed-forward form only), but HiddenCell is {layers[i].HiddenCell}");
        }
    }

    /// <summary>
    /// The network for <paramref name="classes"/> classes: every layer's InputSize chained from <see cref="Channels"/>,
    /// and its Theta set to <paramref name="thetaSteps"/> when given.
    /// </summary>
    internal LmuNetworkOptions NetworkOptions(int classes, int? thetaSteps)
    {
        var layers = new List<LmuLayerOptions>();
        var width = Channels;
        foreach (var layer in _stack.Resolve(Guard, Layers))
        {
            layers.Add(layer.For(width, thetaSteps));
            width = layers[^1].OutputSize;
        }

        var network = new LmuNetworkOptions
        {
            HeadHiddenSizes = HeadHiddenSizes.ToArray(), HeadActivation = HeadActivation, HeadDropout = HeadDropout,
            OutputSize = classes, Readout = Readout,
        };

        network.UseLayers(layers, asStack: Layers is { Count: > 0 });
        return network;
    }
}
