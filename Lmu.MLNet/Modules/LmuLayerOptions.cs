using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Modules;

/// <summary>
/// Configuration of one LMU layer (Voelker, Kajić &amp; Eliasmith 2019). Names follow the paper; the README's glossary
/// maps them to KerasLMU's. Defaults reproduce the paper's psMNIST cell shape apart from the sizes.
/// </summary>
public sealed class LmuLayerOptions
{
    private static readonly OptionsGuard Guard = new("LMU option ");

    /// <summary>Input channels per time step. Default 1.</summary>
    public int InputSize { get; set; } = 1;

    /// <summary>Number of independent memory channels (KerasLMU memory_d). Default 1.</summary>
    public int MemoryD { get; set; } = 1;

    /// <summary>Legendre order q of each memory channel, from 1 to <see cref="MaxOrder"/>. Default 64.</summary>
    public int Order { get; set; } = 64;

    /// <summary>The largest <see cref="Order"/> (1,024): building a layer discretises an (Order+1)-square system, which takes seconds at this order and minutes above it.</summary>
    public const int MaxOrder = 1024;

    /// <summary>Length of the sliding window the memory represents, in time steps. Default 64.</summary>
    public double Theta { get; set; } = 64;

    /// <summary>Discretisation of theta·dm/dt = A m + B u. Default <see cref="LmuDiscretizer.Zoh"/>.</summary>
    public LmuDiscretizer Discretizer { get; set; } = LmuDiscretizer.Zoh;

    /// <summary>
    /// Learn theta instead of fixing it, as log theta (so an optimiser step changes theta by a ratio and theta stays
    /// positive; see <see cref="LegendreDynamics"/>). Default false.
    /// </summary>
    public bool TrainableTheta { get; set; }

    /// <summary>
    /// Learn the continuous state matrix A [Order, Order] (the paper's "fine-tune A and B"), initialised from the
    /// Legendre system and discretised with <see cref="Discretizer"/> at every forward pass, so theta, A and B can
    /// train together (Ad = expm(A/theta) under ZOH). Costs one matrix exponential of an (Order+1)-square matrix per
    /// pass and, in the parallel form, recomputing the impulse response per pass. The export and the streaming engine
    /// use the learned matrices. Default false.
    /// </summary>
    public bool TrainableA { get; set; }

    /// <summary>Learn the continuous input vector B [Order] (see <see cref="TrainableA"/>). Default false.</summary>
    public bool TrainableB { get; set; }

    /// <summary>The hidden cell. Default <see cref="Lmu.MLNet.HiddenCell.SimpleRnn"/>.</summary>
    public HiddenCell HiddenCell { get; set; } = HiddenCell.SimpleRnn;

    /// <summary>Hidden units (ignored when <see cref="HiddenCell"/> is None). Default 64.</summary>
    public int HiddenUnits { get; set; } = 64;

    /// <summary>Activation of Dense and SimpleRnn hidden cells. Default <see cref="LmuActivation.Tanh"/>.</summary>
    public LmuActivation HiddenActivation { get; set; } = LmuActivation.Tanh;

    /// <summary>Feed h_{t-1} into the memory's input (e_h). Default false.</summary>
    public bool HiddenToMemory { get; set; }

    /// <summary>Feed m_{t-1} into the memory's input (e_m). Default false.</summary>
    public bool MemoryToMemory { get; set; }

    /// <summary>Concatenate x_t to the memory as the hidden cell's input. Default false.</summary>
    public bool InputToHidden { get; set; }

    /// <summary>
    /// Learn the input encoder e_x (InputSize x MemoryD). When false the input is fed to the memory as is, which
    /// requires <see cref="InputSize"/> == <see cref="MemoryD"/>. Default true.
    /// </summary>
    public bool UseInputEncoder { get; set; } = true;

    /// <summary>Learn a bias b_u on the memory's input. Default false.</summary>
    public bool UseMemoryBias { get; set; }

    /// <summary>Initialiser of the input encoder e_x [InputSize, MemoryD]. Default <see cref="LmuInitializer.LecunUniform"/>.</summary>
    public LmuInitializer InputEncoderInitializer { get; set; } = LmuInitializer.LecunUniform;

    /// <summary>Initialiser of the hidden-to-memory encoder e_h [HiddenUnits, MemoryD]. Default <see cref="LmuInitializer.LecunUniform"/>.</summary>
    public LmuInitializer HiddenEncoderInitializer { get; set; } = LmuInitializer.LecunUniform;

    /// <summary>
    /// Initialiser of the memory-to-memory encoder e_m [MemoryD*Order, MemoryD]. Default
    /// <see cref="LmuInitializer.Zeros"/> (training starts from the exact Legendre dynamics).
    /// </summary>
    public LmuInitializer MemoryEncoderInitializer { get; set; } = LmuInitializer.Zeros;

    /// <summary>
    /// Initialiser of the hidden cell's input kernel W_ih [G*HiddenUnits, HiddenInputSize], which reads the memory (and
    /// x_t with <see cref="InputToHidden"/>). Default <see cref="LmuInitializer.RecurrentUniform"/>.
    /// </summary>
    public LmuInitializer MemoryKernelInitializer { get; set; } = LmuInitializer.RecurrentUniform;

    /// <summary>
    /// Initialiser of the hidden cell's recurrent kernel W_hh [G*HiddenUnits, HiddenUnits] (SimpleRnn, LSTM, GRU).
    /// Default <see cref="LmuInitializer.RecurrentUniform"/>.
    /// </summary>
    public LmuInitializer HiddenKernelInitializer { get; set; } = LmuInitializer.RecurrentUniform;

    /// <summary>Train the input encoder e_x (false freezes it at its initial values). Default true.</summary>
    public bool TrainableInputEncoder { get; set; } = true;

    /// <summary>Train the hidden-to-memory encoder e_h. Default true.</summary>
    public bool TrainableHiddenEncoder { get; set; } = true;

    /// <summary>Train the memory-to-memory encoder e_m. Default true.</summary>
    public bool TrainableMemoryEncoder { get; set; } = true;

    /// <summary>Train the hidden cell's input kernel W_ih (its bias b_ih trains regardless). Default true.</summary>
    public bool TrainableMemoryKernel { get; set; } = true;

    /// <summary>Train the hidden cell's recurrent kernel W_hh (its bias b_hh trains regardless). Default true.</summary>
    public bool TrainableHiddenKernel { get; set; } = true;

    /// <summary>Dropout rate on the input x_t before it is encoded (training only). Default 0.</summary>
    public double Dropout { get; set; }

    /// <summary>Dropout rate on h_{t-1} fed back to the memory, one mask per sequence (training only). Default 0.</summary>
    public double RecurrentDropout { get; set; }

    /// <summary>How sequences are evaluated. Default <see cref="LmuExecutionMode.Auto"/>.</summary>
    public LmuExecutionMode ExecutionMode { get; set; } = LmuExecutionMode.Auto;

    /// <summary>Convolution used by the parallel form. Default <see cref="ParallelConvolution.Fft"/>.</summary>
    public ParallelConvolution Convolution { get; set; } = ParallelConvolution.Fft;

    /// <summary>
    /// Truncate the impulse response to this many steps (0 = no truncation): the memory then reads only the last k
    /// inputs, m_t = sum_{s &lt; k} H[s] u_{t-s}, an approximation of the Legendre memory that every form computes alike
    /// (the convolutions, the last-step product, the exported ONNX graph). Such a window has no recurrent state, so it
    /// needs a feed-forward memory (HiddenToMemory and MemoryToMemory off), ExecutionMode Auto or Parallel, no
    /// streaming state, and, for export, a None or Dense hidden cell. Default 0.
    /// </summary>
    public int ImpulseTruncation { get; set; }

    /// <summary>A copy of these options.</summary>
    public LmuLayerOptions Clone() => (LmuLayerOptions)MemberwiseClone();

    /// <summary>
    /// The theta every wrapper defaults to once it knows how many steps a model reads (the classifier's sequence length,
    /// the forecaster's window, the featurizers' longest window): the memory's window spans the whole input, so no step
    /// the model sees falls outside what the Legendre memory represents. The one place that rule lives; the fixed
    /// <see cref="Theta"/> default above is for a bare layer, whose input length is not known.
    /// </summary>
    internal static double ThetaForSteps(int steps) => steps;

    /// <summary>
    /// A copy for a model over <paramref name="inputSize"/> channels; with <paramref name="thetaSteps"/>, its theta
    /// becomes <see cref="ThetaForSteps"/> of that many steps (the wrappers' default, see there).
    /// </summary>
    internal LmuLayerOptions For(int inputSize, int? thetaSteps = null)
    {
        var layer = Clone();
        layer.InputSize = inputSize;
        if (thetaSteps is { } steps)
        {
            layer.Theta = ThetaForSteps(steps);
        }

        return layer;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and its value.</summary>
    public void Validate()
    {
        Guard.Require(InputSize >= 1, nameof(InputSize), InputSize, "must be at least 1");
        Guard.Require(MemoryD >= 1, nameof(MemoryD), MemoryD, "must be at least 1");
        // API QA: nothing bounded it, and the discretisation (about 20 products of (Order+1)-square float64 matrices when
        // the layer is built, before training and out of reach of a CancellationToken) took 5 s at 1,000 and 95 s at
        // 2,000 on a 2-core VM; 3,000 did not return in 200 s. The featurizers stop at the same order.
        Guard.Require(Order is >= 1 and <= MaxOrder, nameof(Order), Order, $"must be from 1 to {MaxOrder}");
        Guard.Require(double.IsFinite(Theta) && Theta > 0, nameof(Theta), Theta, "must be a finite number > 0");
        Guard.Require(Enum.IsDefined(Discretizer), nameof(Discretizer), Discretizer, "is not a known discretizer (Zoh, Euler)");
        Guard.Require(Enum.IsDefined(HiddenCell), nameof(HiddenCell), HiddenCell, "is not a known hidden cell");
        Guard.Require(Enum.IsDefined(HiddenActivation), nameof(HiddenActivation), HiddenActivation, "is not a known activation");
        Guard.Require(Enum.IsDefined(ExecutionMode), nameof(ExecutionMode), ExecutionMode, "is not a known execution mode");
        Guard.Require(Enum.IsDefined(Convolution), nameof(Convolution), Convolution, "is not a known convolution");
        foreach (var (name, init) in new[]
                 {
                     (nameof(InputEncoderInitializer), InputEncoderInitializer), (nameof(HiddenEncoderInitializer), HiddenEncoderInitializer),
                     (nameof(MemoryEncoderInitializer), MemoryEncoderInitializer), (nameof(MemoryKernelInitializer), MemoryKernelInitializer),
                     (nameof(HiddenKernelInitializer), HiddenKernelInitializer),
                 })
            Guard.Require(Enum.IsDefined(init), name, init, "is not a known initializer");
        if (HiddenCell != HiddenCell.None)
            Guard.Require(HiddenUnits >= 1, nameof(HiddenUnits), HiddenUnits, "must be at least 1 with a hidden cell");
        Guard.Require(!(HiddenToMemory && HiddenCell == HiddenCell.None), nameof(HiddenToMemory), HiddenToMemory,
            "needs a hidden cell (HiddenCell is None)");
        Guard.Require(UseInputEncoder || InputSize == MemoryD, nameof(UseInputEncoder),
            $"= False requires InputSize == MemoryD, but InputSize is {InputSize} and MemoryD is {MemoryD}");
        // The memory's width indexes tensors as an int (found by QA: MemoryD x Order could overflow it).
        Guard.Require((long)MemoryD * Order <= int.MaxValue / 2, nameof(Order), Order, $"x MemoryD = {MemoryD} is too large a memory");
        Guard.Require(Dropout is >= 0 and < 1, nameof(Dropout), Dropout, "must be in [0, 1)");
        Guard.Require(RecurrentDropout is >= 0 and < 1, nameof(RecurrentDropout), RecurrentDropout, "must be in [0, 1)");
        Guard.Require(ImpulseTruncation >= 0, nameof(ImpulseTruncation), ImpulseTruncation, "must be 0 (none) or positive");
        // A truncated memory is a window over the last k inputs: it has no recurrent state, so only the parallel
        // (convolution) form computes it; the cell and scan forms would silently keep the whole past.
        Guard.Require(ImpulseTruncation == 0 || (MemoryIsFeedForward && ExecutionMode is LmuExecutionMode.Auto or LmuExecutionMode.Parallel),
            nameof(ImpulseTruncation), ImpulseTruncation,
            $"needs a memory without recurrent input (HiddenToMemory and MemoryToMemory off) and ExecutionMode Auto or Parallel, but ExecutionMode is {ExecutionMode}, HiddenToMemory {HiddenToMemory}, MemoryToMemory {MemoryToMemory} (a truncation at or past the sequence length cuts nothing: use 0)");
        Guard.Require(ExecutionMode != LmuExecutionMode.Parallel || MemoryIsFeedForward, nameof(ExecutionMode), ExecutionMode,
            "needs a memory without recurrent input (HiddenToMemory and MemoryToMemory off)");
        // Refused here, not at the first training pass (found by QA: the layer failed there, naming neither option).
        Guard.Require(ExecutionMode != LmuExecutionMode.FusedScan || HiddenCell is HiddenCell.None or HiddenCell.Dense or HiddenCell.SimpleRnn,
            nameof(ExecutionMode), ExecutionMode, $"needs a None, Dense or SimpleRnn hidden cell, but HiddenCell is {HiddenCell}");
        Guard.Require(ExecutionMode != LmuExecutionMode.FusedScan || RecurrentDropout == 0 || !HiddenToMemory,
            nameof(ExecutionMode), ExecutionMode, $"cannot apply RecurrentDropout ({RecurrentDropout}) to the hidden-to-memory connection: use Auto (the cell form while training) or no RecurrentDropout");
        // Last: the bound costs about 10 Order^3 flops the first time an order is seen (0.1 s at order 256).
        if (Discretizer == LmuDiscretizer.Euler && EulerStability.Refusal(Order, Theta) is { } unstable)
            Guard.Require(false, nameof(Theta), Theta, unstable);
    }

    /// <summary>True when the memory has no recurrent input, so the parallel (convolution) form applies.</summary>
    public bool MemoryIsFeedForward => !HiddenToMemory && !MemoryToMemory;

    /// <summary>Width of the hidden cell's input z_t = [flat(m_t), x_t if input-to-hidden].</summary>
    public int HiddenInputSize => MemoryD * Order + (InputToHidden ? InputSize : 0);

    /// <summary>Width of the layer's output per step.</summary>
    public int OutputSize => HiddenCell == HiddenCell.None ? HiddenInputSize : HiddenUnits;
}
