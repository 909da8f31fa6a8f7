using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.MLNet.Classification;

/// <summary>
/// Everything the LMU sequence classifier can be told: columns, input shape, the LMU layer, the dense head and
/// training. Each row's features are a flattened sequence, step-major: <c>[x(0,0..C-1), x(1,0..C-1), ...]</c>.
/// </summary>
/// <remarks>
/// Settings left unset come from the <see cref="MLContext"/> that made the estimator: <see cref="Seed"/> from its seed,
/// <see cref="Device"/> from its GpuDeviceId/FallbackToCpu; progress goes to its Log; its cancellation is honoured.
/// </remarks>
public sealed class LmuClassifierOptions
{
    /// <summary>Label column: a key (conventional, after MapValueToKey), text, Single, Double, Int32, Int64 or Boolean. Default "Label".</summary>
    public string LabelColumnName { get; set; } = "Label";

    /// <summary>Features column: Vector&lt;Single&gt; of SequenceLength x Channels values, or a VarVector&lt;Single&gt;. Default "Features".</summary>
    public string FeatureColumnName { get; set; } = "Features";

    /// <summary>
    /// Optional sequence-length column: a Single, Int32, UInt32 or Int64 scalar n with 1 &lt;= n &lt;= SequenceLength (for a
    /// VarVector features column: at most the row's own steps). Each row's first n steps are real and the rest padding;
    /// the model reads the output at step n-1, exactly as if the row had only n steps, and padding is never read. Fixed-
    /// size rows are padded at the end; VarVector rows are padded at the end to SequenceLength. Scoring needs the column
    /// too (same type), and clamps its values to [0, SequenceLength]. Null (default): every row is its full length
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
    /// The LMU layer (every option of the core with its documented default, e.g. Order 64, HiddenCell SimpleRnn with
    /// 64 units). Its InputSize is always set to <see cref="Channels"/>. Its Theta is used as given unless
    /// <see cref="ThetaFromSequenceLength"/> is true.
    /// </summary>
    public LmuLayerOptions Layer { get; set; } = new();

    /// <summary>Set Layer.Theta to the sequence length (the window spans the whole sequence). Default true.</summary>
    public bool ThetaFromSequenceLength { get; set; } = true;

    /// <summary>Widths of the head's hidden dense layers. Default none (one linear layer to the K classes).</summary>
    public IReadOnlyList<int> HeadHiddenSizes { get; set; } = [];

    /// <summary>Activation of the head's hidden layers. Default <see cref="LmuActivation.Relu"/>.</summary>
    public LmuActivation HeadActivation { get; set; } = LmuActivation.Relu;

    /// <summary>Dropout before each head layer while training. Default 0.</summary>
    public double HeadDropout { get; set; }

    /// <summary>Passes over the training data. Default 10.</summary>
    public int Epochs { get; set; } = 10;

    /// <summary>Rows per gradient step. Default 64.</summary>
    public int BatchSize { get; set; } = 64;

    /// <summary>Initial Adam learning rate. Default 1e-3.</summary>
    public double LearningRate { get; set; } = 1e-3;

    /// <summary>Learning-rate schedule. Default <see cref="LearningRateSchedule.Cosine"/>.</summary>
    public LearningRateSchedule Schedule { get; set; } = LearningRateSchedule.Cosine;

    /// <summary>Decoupled weight decay (AdamW) when &gt; 0. Default 0.</summary>
    public double WeightDecay { get; set; }

    /// <summary>Global gradient-norm clip; 0 disables clipping. Default 1.0.</summary>
    public double GradientClipNorm { get; set; } = 1.0;

    /// <summary>
    /// Fraction of the training rows held out (a seeded random split) to validate after each epoch; 0 for none.
    /// Ignored when <see cref="ValidationData"/> is set. Default 0.
    /// </summary>
    public double ValidationFraction { get; set; }

    /// <summary>Validation rows (same columns as the training data); null for none. Default null.</summary>
    public IDataView? ValidationData { get; set; }

    /// <summary>
    /// Stop after this many epochs without a better validation loss and keep the best epoch's weights; 0 disables it.
    /// Needs validation data. Default 0.
    /// </summary>
    public int EarlyStoppingPatience { get; set; }

    /// <summary>Rows kept in the shuffle pool when the data cannot be shuffled by random access. Default 1000 (ML.NET's ShuffleRows default).</summary>
    public int ShufflePoolSize { get; set; } = 1000;

    /// <summary>Seed for weights, dropout, shuffling and the validation split; null takes the next value of the MLContext's seeded stream. Default null.</summary>
    public int? Seed { get; set; }

    /// <summary>
    /// Torch device: "cpu", "cuda" or "cuda:N"; null follows the MLContext (its GpuDeviceId selects "cuda:N", and when
    /// CUDA is absent FallbackToCpu decides between the CPU and an error). Default null.
    /// </summary>
    public string? Device { get; set; }

    /// <summary>Torch intra-op threads while training; 0 leaves torch's setting as it is. Default 0.</summary>
    public int TorchThreads { get; set; }

    /// <summary>Called synchronously after every epoch (in addition to the MLContext's Log). Default null.</summary>
    public IProgress<LmuEpochReport>? Progress { get; set; }

    /// <summary>Stops training within one batch; Fit then throws <see cref="OperationCanceledException"/> and returns no model. Default none.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>A shallow copy whose layer options and head sizes are copies too.</summary>
    public LmuClassifierOptions Clone()
    {
        var copy = (LmuClassifierOptions)MemberwiseClone();
        copy.Layer = Layer.Clone();
        copy.HeadHiddenSizes = HeadHiddenSizes.ToArray();
        return copy;
    }
}
