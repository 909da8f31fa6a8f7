using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LmuLayer
{
    /// <summary>
    /// Sequences produced by one evaluation, batch-major [B, T, *]; what a path does not compute is null. A path asked
    /// for the last step only may return an Output of one step [B, 1, *] and nothing else.
    /// </summary>
    private sealed record Sequences(Tensor Output, Tensor? Memory, Tensor? HiddenSeq, Tensor? CellSeq);

    private sealed record RunResult(Tensor Output, LmuState? State);

    /// <summary>The form the layer's forward pass will use for a call with or without an initial state.</summary>
    public LmuExecutionMode ResolveMode(bool withState)
    {
        bool fusable = hidden.Kind is HiddenCell.None or HiddenCell.Dense or HiddenCell.SimpleRnn
            && !(training && _options.RecurrentDropout > 0 && e_h is not null);
        switch (_options.ExecutionMode)
        {
            case LmuExecutionMode.Cell:
                return LmuExecutionMode.Cell;
            case LmuExecutionMode.Parallel:
                if (withState) throw new ArgumentException("The parallel form starts from zero state; pass no state or use another ExecutionMode.", "state");
                return LmuExecutionMode.Parallel;
            case LmuExecutionMode.Auto when withState && _options.ImpulseTruncation > 0:
                throw new ArgumentException($"A truncated impulse response (ImpulseTruncation = {_options.ImpulseTruncation}) is a window over the last inputs with no recurrent state; pass no state.", "state");
            case LmuExecutionMode.FusedScan:
                if (!fusable) throw new InvalidOperationException($"The fused scan supports None, Dense and SimpleRnn hidden cells without active recurrent dropout; this layer has {hidden.Kind}.");
                return LmuExecutionMode.FusedScan;
            default:
                if (_options.MemoryIsFeedForward && !withState) return LmuExecutionMode.Parallel;
                return fusable ? LmuExecutionMode.FusedScan : LmuExecutionMode.Cell;
        }
    }

    private RunResult Run(Tensor x, LmuState? state, Tensor? lengths, bool lastOnly, bool wantState)
    {
        ValidateInput(x, lengths);
        if (state is not null) ValidateState(state, x);
        using var scope = NewDisposeScope();
        // Lengths on another device than x (CPU lengths for CUDA data) are moved once, for the mask and the gathers.
        if (lengths is not null && (lengths.device_type != x.device_type || lengths.device_index != x.device_index)) lengths = lengths.to(x.device);
        x = ZeroPastLength(x, lengths);
        var mode = ResolveMode(state is not null);
        // Learned dynamics: discretised once for this pass; a truncated impulse response is a window in every form.
        var dyn = new DynamicsPass(dynamics, x.dtype, x.device, _options.ImpulseTruncation);
        var xd = training && _options.Dropout > 0 ? DropoutMask.Apply(x, _options.Dropout) : x;

        if (mode == LmuExecutionMode.Parallel && lastOnly && lengths is null && !wantState
            && hidden.Kind is HiddenCell.None or HiddenCell.Dense)
        {
            var last = ParallelLastStep(x, xd, dyn);
            return new RunResult(last.MoveToOuterDisposeScope(), null);
        }

        // Only the last step is read: the scans then keep checkpoints instead of every step (LinearScanLastFunction).
        bool lastStepOnly = lastOnly && lengths is null && !wantState;
        var seq = mode switch
        {
            LmuExecutionMode.Parallel => ParallelSequences(x, xd, wantState, dyn, lastStepOnly),
            LmuExecutionMode.FusedScan => FusedSequences(x, xd, state, dyn, lastStepOnly),
            _ => CellSequences(x, EncodeInput(xd), state, dyn),
        };

        Tensor output;
        LmuState? final = null;
        if (lastOnly)
        {
            output = lengths is null ? seq.Output.select(1, -1) : Gather(seq.Output, lengths);
        }
        else
        {
            output = lengths is null ? seq.Output : MaskPastLength(seq.Output, lengths);
        }
        if (wantState)
        {
            Tensor Pick(Tensor s) => lengths is null ? s.select(1, -1) : Gather(s, lengths);
            final = new LmuState(Pick(seq.Memory!), seq.HiddenSeq is null ? null : Pick(seq.HiddenSeq),
                seq.CellSeq is null ? null : Pick(seq.CellSeq)).MoveToOuterDisposeScope();
        }
        return new RunResult(output.MoveToOuterDisposeScope(), final);
    }

    /// <summary>u_t without recurrent terms: xd_t e_x + b_u (xd = x after dropout), all steps at once. [B, T, MemoryD].</summary>
    private Tensor EncodeInput(Tensor xd)
    {
        var u = e_x is null ? xd : xd.MatMul(e_x);
        return b_u is null ? u : u.Plus(b_u);
    }

    private void ValidateInput(Tensor x, Tensor? lengths)
    {
        ThrowIfDisposed();
        if (x.dim() != 3)
            throw new ArgumentException($"x must have rank 3 [batch, T, InputSize={_options.InputSize}]; got rank {x.dim()} with shape [{string.Join(", ", x.shape)}].", nameof(x));
        if (x.shape[2] != _options.InputSize)
            throw new ArgumentException($"x has {x.shape[2]} channels per step; the layer expects InputSize = {_options.InputSize}.", nameof(x));
        if (x.shape[1] < 1)
            throw new ArgumentException("x has no time steps (T = 0).", nameof(x));
        // float16/bfloat16 reached libtorch kernels that have no such CPU form, and failed in their words (found by QA).
        if (x.dtype != ScalarType.Float32 && x.dtype != ScalarType.Float64)
            throw new ArgumentException($"x must be float32 or float64 (the layer's dynamics and kernels run in those); got {x.dtype}.", nameof(x));
        // The parallel forms fail on an empty batch inside libtorch's FFT and reshapes, with messages that name neither.
        if (x.shape[0] < 1)
            throw new ArgumentException("x has no rows (batch = 0).", nameof(x));
        // A product of operands of different dtypes or devices is a libtorch error; found by QA as a process abort
        // (TensorProducts), and in any case not the caller's words.
        if (WeightLike() is { } w && !SameKind(w, x))
            throw new ArgumentException($"x is {x.dtype} on {x.device}; the layer's parameters are {w.dtype} on {w.device}. Convert x (x.to(...)) or the layer (layer.to(...)).", nameof(x));
        if (lengths is null) return;
        if (lengths.dim() != 1 || lengths.shape[0] != x.shape[0])
            throw new ArgumentException($"lengths must be [batch = {x.shape[0]}]; got shape [{string.Join(", ", lengths.shape)}].", nameof(lengths));
        if (lengths.is_floating_point() || lengths.is_complex() || lengths.dtype == ScalarType.Bool)
            throw new ArgumentException($"lengths must hold whole numbers (an integer dtype); got {lengths.dtype}.", nameof(lengths));
        using var low = lengths.min();
        using var high = lengths.max();
        using var min64 = low.to(int64);
        using var max64 = high.to(int64);
        long min = min64.item<long>(), max = max64.item<long>();
        if (min < 1 || max > x.shape[1])
            throw new ArgumentException($"lengths must lie in [1, T = {x.shape[1]}]; got values from {min} to {max}.", nameof(lengths));
    }

    /// <summary>
    /// Refuses an initial state that does not fit this layer and <paramref name="x"/>: memory [batch, MemoryD*Order],
    /// hidden (and an LSTM's cell) [batch, HiddenUnits], each of x's dtype and device (libtorch reported a wrong one
    /// without naming the state, or aborted the process; found by QA).
    /// </summary>
    private void ValidateState(LmuState state, Tensor x)
    {
        void Check(Tensor t, string name, long width)
        {
            if (t.dim() != 2 || t.shape[0] != x.shape[0] || t.shape[1] != width)
                throw new ArgumentException($"state.{name} must be [batch = {x.shape[0]}, {width}]; got shape [{string.Join(", ", t.shape)}].", "state");
            if (!SameKind(t, x))
                throw new ArgumentException($"state.{name} is {t.dtype} on {t.device}; x is {x.dtype} on {x.device}.", "state");
        }

        Check(state.Memory, nameof(state.Memory), (long)_options.MemoryD * _options.Order);
        // A part of the state this layer has no place for would be ignored: the caller meant something else.
        if (hidden.Kind == HiddenCell.None && state.Hidden is not null)
            throw new ArgumentException("state.Hidden is given, but this layer has no hidden cell (HiddenCell.None): pass null.", "state");
        if (hidden.Kind != HiddenCell.Lstm && state.Cell is not null)
            throw new ArgumentException($"state.Cell is given, but only an LSTM hidden cell has one (this layer's is {hidden.Kind}): pass null.", "state");
        if (hidden.Kind != HiddenCell.None && state.Hidden is not null) Check(state.Hidden, nameof(state.Hidden), hidden.Units);
        if (hidden.Kind == HiddenCell.Lstm && state.Cell is not null) Check(state.Cell, nameof(state.Cell), hidden.Units);
    }

    // Any of the layer's own weights (the dynamics follow x's dtype); null when the layer has none.
    private Tensor? WeightLike() => (Tensor?)e_x ?? b_u ?? e_h ?? e_m ?? hidden.InputWeight ?? hidden.RecurrentWeight;

    private static bool SameKind(Tensor a, Tensor b)
        => a.dtype == b.dtype && a.device_type == b.device_type && a.device_index == b.device_index;

    /// <summary>seq[b, lengths[b]-1, :] for each row: [B, T, F] -> [B, F].</summary>
    internal static Tensor Gather(Tensor seq, Tensor lengths)
    {
        var idx = lengths.to(int64).Minus(1).view(-1, 1, 1).expand(-1, 1, seq.shape[2]);
        return seq.gather(1, idx).squeeze(1);
    }

    /// <summary>
    /// x with every step past its row's length set to zero, whatever it held: x [B, T, F], lengths [B] -> [B, T, F]; x
    /// itself when lengths is null or not a [B] vector of whole numbers (the layer's checks then name the fault).
    /// Why: the forms are causal in exact arithmetic only. The FFT form's round-off spread padding of 1e6 into the real
    /// steps (0.045 at the output), NaN or infinite padding made a padded row's output NaN in every form, and training
    /// read it while the exported graph did not (numerics QA).
    /// </summary>
    internal static Tensor ZeroPastLength(Tensor x, Tensor? lengths)
    {
        if (lengths is null || lengths.dim() != 1 || x.dim() != 3 || lengths.shape[0] != x.shape[0] || lengths.is_floating_point() || lengths.is_complex() || lengths.dtype == ScalarType.Bool)
        {
            return x;
        }

        var steps = TorchScalars.Arange(x.shape[1], x.device).unsqueeze(0);
        var keep = steps.lt(lengths.to(int64, x.device).unsqueeze(1)).unsqueeze(2);
        return torch.where(keep, x, torch.zeros(1, dtype: x.dtype, device: x.device));
    }

    private static Tensor MaskPastLength(Tensor seq, Tensor lengths)
    {
        var steps = TorchScalars.Arange(seq.shape[1], seq.device).unsqueeze(0);
        var keep = steps.lt(lengths.to(int64).unsqueeze(1)).unsqueeze(2).to(seq.dtype);
        return seq * keep;
    }

    /// <summary>z = [m, x] when input-to-hidden, else m (any leading shape).</summary>
    private Tensor HiddenInput(Tensor m, Tensor x) => _options.InputToHidden ? torch.cat([m, x], -1) : m;

    private Tensor ZeroMemory(long batch, Tensor like)
        => torch.zeros(batch, _options.MemoryD * _options.Order, dtype: like.dtype, device: like.device);

    /// <summary>
    /// s_0 = [m_0, h_0] [B, D_m + units] for the scans: one zero tensor when no state is given, and with
    /// <paramref name="readOnly"/> (a pass that only reads s_0: no backward pass) a single zero expanded to that shape,
    /// which holds no [B, D] storage. Why: two zero tensors and their concatenation held s_0's size twice over for the
    /// whole call (374 KB of a psMNIST rnn_cell inference call's 1.5 MiB at batch 100).
    /// </summary>
    private Tensor StartState(LmuState? state, long batch, Tensor like, bool readOnly = false)
    {
        long d = (_options.MemoryD * _options.Order) + hidden.Units;
        if (state is not null) return torch.cat([state.Memory, state.Hidden ?? ZeroHidden(batch, like)], 1);
        return readOnly
            ? torch.zeros(1, 1, dtype: like.dtype, device: like.device).expand(batch, d)
            : torch.zeros(batch, d, dtype: like.dtype, device: like.device);
    }

    private Tensor ZeroHidden(long batch, Tensor like)
        => torch.zeros(batch, hidden.Units, dtype: like.dtype, device: like.device);
}
