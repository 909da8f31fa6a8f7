using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// A Legendre Memory Unit layer (Voelker, Kajić &amp; Eliasmith 2019):
/// <code>
/// u_t = x_t e_x + b_u [+ h_{t-1} e_h] [+ flat(m_{t-1}) e_m]
/// m_t[k,:] = Ad m_{t-1}[k,:] + Bd u_t[k]            (memory channel k; flat index k*q + i)
/// h_t = cell([flat(m_t), x_t?], h_{t-1})
/// </code>
/// evaluated in the cheapest equivalent form: the parallel form of Chilkuri &amp; Eliasmith (2021) when the memory has
/// no recurrent input (a convolution with the impulse response, or one matrix product for the last step only), else
/// a fused recurrent scan, else the step-by-step cell. See <see cref="LmuExecutionMode"/>.
/// </summary>
public sealed partial class LmuLayer : nn.Module<Tensor, Tensor>
{
    private readonly LmuLayerOptions _options;

    private readonly Parameter? e_x;
    private readonly Parameter? b_u;
    private readonly Parameter? e_h;
    private readonly Parameter? e_m;
    private readonly LegendreDynamics dynamics;
    private readonly HiddenCellModule hidden;
    private bool _disposed;

    /// <summary>Builds the layer; throws <see cref="ArgumentException"/> naming any invalid option and its value.</summary>
    public LmuLayer(LmuLayerOptions options) : base("LmuLayer")
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        TorchNative.EnsureLoaded(); // a clear refusal where libtorch would end the process
        _options = options.Clone();
        int memD = options.MemoryD, units = options.HiddenUnits;
        // Same draws in the same order as before initialisers were options, so default seeded results are unchanged.
        if (options.UseInputEncoder) e_x = Encoder(options.InputEncoderInitializer, options.InputSize, memD, units, options.TrainableInputEncoder);
        if (options.UseMemoryBias) b_u = nn.Parameter(torch.zeros(memD, dtype: float32));
        if (options.HiddenToMemory) e_h = Encoder(options.HiddenEncoderInitializer, units, memD, units, options.TrainableHiddenEncoder);
        // e_m defaults to zero so that training begins from the exact Legendre dynamics.
        if (options.MemoryToMemory) e_m = Encoder(options.MemoryEncoderInitializer, memD * options.Order, memD, units, options.TrainableMemoryEncoder);
        dynamics = new LegendreDynamics(options.Order, options.Theta, options.Discretizer, options.TrainableTheta, options.TrainableA, options.TrainableB);
        hidden = new HiddenCellModule(options.HiddenCell, options.HiddenInputSize, units, options.HiddenActivation,
            new HiddenCellInit(options.MemoryKernelInitializer, options.HiddenKernelInitializer, options.TrainableMemoryKernel, options.TrainableHiddenKernel));
        RegisterComponents();
        ScopeDetach.Components(this);
    }

    /// <summary>A copy of the layer's options.</summary>
    public LmuLayerOptions Options => _options.Clone();

    /// <summary>The discretised memory dynamics (theta, Ad, Bd, impulse response).</summary>
    public LegendreDynamics Dynamics => dynamics;

    /// <summary>The hidden cell.</summary>
    public HiddenCellModule Hidden => hidden;

    /// <summary>Input encoder e_x [InputSize, MemoryD], or null when the input feeds the memory directly.</summary>
    public Tensor? InputEncoder => Live(e_x);

    /// <summary>Memory input bias b_u [MemoryD], or null.</summary>
    public Tensor? MemoryBias => Live(b_u);

    /// <summary>Hidden-to-memory encoder e_h [HiddenUnits, MemoryD], or null.</summary>
    public Tensor? HiddenEncoder => Live(e_h);

    /// <summary>Memory-to-memory encoder e_m [MemoryD*Order, MemoryD], or null.</summary>
    public Tensor? MemoryEncoder => Live(e_m);

    /// <summary>Width of the output per step.</summary>
    public int OutputSize => _options.OutputSize;

    /// <summary>Runs a batch of sequences from zero state. x: [batch, T, InputSize] -> [batch, T, OutputSize].</summary>
    public override Tensor forward(Tensor x)
    {
        var r = Run(x, null, null, lastOnly: false, wantState: false);
        return r.Output;
    }

    /// <summary>
    /// Runs a batch and returns the output at each row's last step. x: [batch, T, InputSize]; lengths: optional
    /// integer [batch] (int64 or int32) with 1 &lt;= length &lt;= T (rows are right-padded; the padding is never read:
    /// it is taken as zero whatever it holds, NaN included) -> [batch, OutputSize].
    /// </summary>
    public Tensor ForwardLast(Tensor x, Tensor? lengths = null)
        => Run(x, null, lengths, lastOnly: true, wantState: false).Output;

    /// <summary>
    /// Every step's output of a batch from zero state, zero past each row's length: x [batch, T, InputSize], lengths
    /// optional integer [batch] -> [batch, T, OutputSize] (what a pooling readout reads).
    /// </summary>
    internal Tensor ForwardSequence(Tensor x, Tensor? lengths)
        => Run(x, null, lengths, lastOnly: false, wantState: false).Output;

    /// <summary>
    /// Streaming form: runs from <paramref name="state"/> (zero state when null) and returns every step's output
    /// [batch, T, OutputSize] and the state after each row's last step (T, or its length). Outputs past a row's length
    /// are zero.
    /// </summary>
    public (Tensor Output, LmuState State) forward(Tensor x, LmuState? state, Tensor? lengths = null)
    {
        var r = Run(x, state, lengths, lastOnly: false, wantState: true);
        return (r.Output, r.State!);
    }

    /// <summary>
    /// Builds a boolean prefix mask [batch, T] into lengths [batch]; throws when a row's mask is not a prefix of
    /// ones (variable-length rows must be right-padded).
    /// </summary>
    public static Tensor LengthsFromMask(Tensor mask)
    {
        using var scope = NewDisposeScope();
        if (mask.dim() != 2) throw new ArgumentException($"mask must be [batch, T]; got shape [{string.Join(", ", mask.shape)}].", nameof(mask));
        // A float mask was truncated to int64, so 0.5 read as 0 (found by QA): only 0 and 1 are a mask's values.
        using var zero = 0.ToScalar();
        using var one = 1.ToScalar();
        if (!mask.eq(zero).logical_or(mask.eq(one)).all().item<bool>())
            throw new ArgumentException("mask must hold only 0 and 1 (or false and true).", nameof(mask));
        var m = mask.to(int64);
        var lengths = m.sum(dim: 1);
        var steps = TorchScalars.Arange(mask.shape[1], mask.device).unsqueeze(0);
        var prefix = steps.lt(lengths.unsqueeze(1)).to(int64);
        if (!prefix.eq(m).all().item<bool>()) throw new ArgumentException("mask must be a prefix mask (ones then zeros) in every row.", nameof(mask));
        return lengths.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        // What inference derived from the weights (see DerivedWeights): entries still leased by a caller are disposed
        // by its lease.
        if (disposing)
        {
            _foldedKernel.Dispose();
            _blockedPlans.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <summary>
    /// Throws <see cref="ObjectDisposedException"/> once the layer is disposed: its weights are freed, and a call failed
    /// with TorchSharp's "Tensor invalid -- empty handle" instead (found by QA).
    /// </summary>
    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private Tensor? Live(Tensor? t)
    {
        ThrowIfDisposed();
        return t;
    }

    /// <summary>An encoder [fanIn, fanOut] (it maps rows to columns), frozen when not trainable.</summary>
    private static Parameter Encoder(LmuInitializer init, int fanIn, int fanOut, int units, bool trainable)
        => nn.Parameter(LmuInitialization.Create(init, fanIn, fanOut, fanIn, fanOut, units), requires_grad: trainable);
}
