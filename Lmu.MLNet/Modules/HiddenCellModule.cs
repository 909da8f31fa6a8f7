using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// Parameters and step functions of the hidden cell that reads z_t = [flat(m_t), x_t?]. Weights use PyTorch's layout
/// (W_ih [G*units, z], W_hh [G*units, units]; gates i,f,g,o for LSTM and r,z,n for GRU) so they map one to one onto
/// ONNX and onto TorchSharp's own cells.
/// </summary>
public sealed class HiddenCellModule : nn.Module
{
    private readonly HiddenCell _kind;
    private readonly LmuActivation _activation;

    private readonly Parameter? W_ih;
    private readonly Parameter? b_ih;
    private readonly Parameter? W_hh;
    private readonly Parameter? b_hh;

    /// <summary>Creates the cell; weights are drawn from U(-1/sqrt(units), 1/sqrt(units)) as PyTorch's cells do.</summary>
    public HiddenCellModule(HiddenCell kind, int inputSize, int units, LmuActivation activation)
        : this(kind, inputSize, units, activation, HiddenCellInit.Default)
    {
    }

    /// <summary>
    /// Creates the cell with the given kernel initialisers and trainability; biases are drawn from
    /// U(-1/sqrt(units), 1/sqrt(units)) as PyTorch's cells do, and always train.
    /// </summary>
    internal HiddenCellModule(HiddenCell kind, int inputSize, int units, LmuActivation activation, HiddenCellInit init) : base("HiddenCell")
    {
        ArgumentNullException.ThrowIfNull(init);
        // libtorch's "from is out of bounds" for units 0 named neither (found by QA).
        if (!Enum.IsDefined(kind)) throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a known hidden cell.");
        if (kind != HiddenCell.None)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        }

        _kind = kind;
        _activation = activation;
        Units = kind == HiddenCell.None ? 0 : units;
        int gates = kind switch { HiddenCell.Lstm => 4, HiddenCell.Gru => 3, _ => 1 };
        if (kind != HiddenCell.None)
        {
            double k = 1.0 / Math.Sqrt(units);
            // Kernel [G*units, in]: fan_in = in, fan_out = G*units. Draw order W_ih, b_ih, W_hh, b_hh as before.
            W_ih = nn.Parameter(LmuInitialization.Create(init.InputKernel, gates * units, inputSize, inputSize, gates * units, units), requires_grad: init.TrainableInputKernel);
            b_ih = nn.Parameter(InitialDraws.Uniform(k, gates * units));
            if (kind != HiddenCell.Dense)
            {
                W_hh = nn.Parameter(LmuInitialization.Create(init.RecurrentKernel, gates * units, units, units, gates * units, units), requires_grad: init.TrainableRecurrentKernel);
                b_hh = nn.Parameter(InitialDraws.Uniform(k, gates * units));
            }
        }
        RegisterComponents();
        ScopeDetach.Components(this);
    }

    /// <summary>The cell kind.</summary>
    public HiddenCell Kind => _kind;

    /// <summary>The activation of Dense and SimpleRnn cells.</summary>
    public LmuActivation Activation => _activation;

    /// <summary>Hidden units (0 for None).</summary>
    public int Units { get; }

    /// <summary>Input weights W_ih [G*units, z] (null for None).</summary>
    public Tensor? InputWeight => W_ih;

    /// <summary>Input bias b_ih [G*units] (null for None).</summary>
    public Tensor? InputBias => b_ih;

    /// <summary>Recurrent weights W_hh [G*units, units] (null for None and Dense).</summary>
    public Tensor? RecurrentWeight => W_hh;

    /// <summary>Recurrent bias b_hh [G*units] (null for None and Dense).</summary>
    public Tensor? RecurrentBias => b_hh;

    /// <summary>Whether the cell keeps a state between steps that it reads back (SimpleRnn, LSTM, GRU).</summary>
    public bool IsRecurrent => W_hh is not null;

    /// <summary>The input projection z W_ih^T + b_ih for any leading shape: [..., z] -> [..., G*units].</summary>
    public Tensor ProjectInput(Tensor z) => nn.functional.linear(z, W_ih!, b_ih);

    /// <summary>
    /// One step given the projected input gi = z_t W_ih^T + b_ih [B, G*units]; h and c are [B, units] (c for LSTM only,
    /// null elsewhere). Returns the new (h, c). For None the caller uses z itself.
    /// </summary>
    public (Tensor H, Tensor? C) Step(Tensor gi, Tensor? h, Tensor? c)
    {
        switch (_kind)
        {
            case HiddenCell.Dense:
                return (Activate(gi, _activation), null);
            case HiddenCell.SimpleRnn:
                return (Activate(gi.Plus(nn.functional.linear(h!, W_hh!, b_hh)), _activation), null);
            case HiddenCell.Lstm:
            {
                var gates = gi.Plus(nn.functional.linear(h!, W_hh!, b_hh));
                var g = gates.chunk(4, 1);
                var cNew = (g[1].sigmoid() * c!).Plus(g[0].sigmoid() * g[2].tanh());
                return (g[3].sigmoid() * cNew.tanh(), cNew);
            }
            case HiddenCell.Gru:
            {
                var gh = nn.functional.linear(h!, W_hh!, b_hh).chunk(3, 1);
                var gx = gi.chunk(3, 1);
                var r = gx[0].Plus(gh[0]).sigmoid();
                var zg = gx[1].Plus(gh[1]).sigmoid();
                var n = gx[2].Plus(r * gh[2]).tanh();
                return ((zg.OneMinus() * n).Plus(zg * h!), null);
            }
            default:
                throw new InvalidOperationException($"Hidden cell {_kind} has no step.");
        }
    }

    /// <summary>
    /// tanh(x) on a copy, as <see cref="LinearScanFunction.TanhInPlace"/> computes it, where no gradient is recorded:
    /// 2 sigmoid(2x) - 1 from <see cref="LinearScanFunction.NativeTanhBelow"/> values on. Why: libtorch's tanh is MKL's
    /// high-accuracy vector tanh, 54 us for a [100, 212] batch on the 2-core AMD EPYC VM against 21 us for the four
    /// in-place passes (the bench's ff_dense inference 0.65 -&gt; 0.62-0.64 ms). With a gradient the native tanh stays:
    /// the four ops would record four autograd nodes, and one custom node cost what it saved (1.02-1.07 against
    /// 1.01-1.05 ms forward and backward, measured). Within 1.8e-7 of tanh in float32 (see
    /// <see cref="LinearScanFunction.TanhInPlace"/>).
    /// </summary>
    private static Tensor SigmoidTanh(Tensor x)
    {
        var y = x.clone();
        LinearScanFunction.TanhInPlace(y);
        return y;
    }

    /// <summary>Applies an activation.</summary>
    internal static Tensor Activate(Tensor x, LmuActivation activation) => activation switch
    {
        LmuActivation.Identity => x.alias(),
        LmuActivation.Tanh => x.requires_grad && torch.is_grad_enabled() ? x.tanh() : SigmoidTanh(x),
        LmuActivation.Relu => x.relu(),
        LmuActivation.Sigmoid => x.sigmoid(),
        _ => throw new ArgumentOutOfRangeException(nameof(activation), activation, "Unknown activation."),
    };
}
