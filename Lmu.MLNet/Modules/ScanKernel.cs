using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// The per-step loops of the recurrent scans (<see cref="LinearScanFunction"/>, <see cref="LinearScanLastFunction"/>)
/// in managed SIMD code for small states: forward s_t = f(s_{t-1} P + c_t), backward g_t = (incoming + carry) ⊙
/// f'_t, carry = g_t P^T, each over [B, D] spans of the scans' own buffers.
/// </summary>
/// <remarks>
/// <para>Why: a step of a small network is a few thousand multiply-adds (batch 16, 64 units: 65,536), about 1 us of
/// arithmetic, while each libtorch call around it (the step's view, addmm_, the activation, the gradient's copy,
/// multiply and product) costs 2-5 us of dispatch. On the `classify` command's default network (order 32, SimpleRnn
/// 64, batch 16, T 96) the scan's forward and backward passes were about half of a training step. Larger steps keep
/// libtorch's products (MKL runs a [100, 212] x [212, 212] product several times faster than this loop), above
/// <see cref="MaxMultiplyAddsPerStep"/>.</para>
/// <para>The products' sums run in another order than MKL's, so results differ from the libtorch loop by rounding
/// (tested: float64 within 1e-12, float32 within 1e-5 relative). Activations: tanh (<see cref="TanhKernel"/>'s
/// formula), ReLU (x &lt; 0 ? 0 : x, NaN kept) and the identity; others take the libtorch loop. The spans cover buffers
/// the scans allocate and own for the pass, so writing them past libtorch's version counter hides nothing from autograd.</para>
/// <para>Where it does not run (the libtorch loop instead): operands that do not fit together (their error is then
/// libtorch's), buffers past 2 GiB (a span's limit), and machines without 256-bit vectors and fused multiply-adds
/// (ARM64, for one), where the loop below ran 2.5-4x slower than libtorch's (measured with AVX disabled, in review).</para>
/// </remarks>
internal static class ScanKernel
{
    /// <summary>Off: every scan takes the libtorch loop (tests compare the two).</summary>
    internal static bool Enabled { get; set; } = true;

    /// <summary>
    /// Largest B·D·D (one step's multiply-adds) run here. Measured on the 2-core AMD EPYC VM, one thread (see
    /// BENCHMARKS.md, fourteenth session): below it the loop beats libtorch's calls, above it MKL's products win.
    /// </summary>
    internal static long MaxMultiplyAddsPerStep { get; set; } = 1L << 19;

    // Counts the steps run here, so tests can tell that the path they compare was taken.
    private static long _steps;

    internal static long Steps => Interlocked.Read(ref _steps);

    /// <summary>P's rows (and P^T's, for the backward pass) as managed arrays, for one pass; null when the scan does not qualify.</summary>
    internal sealed class Plan
    {
        internal required int D { get; init; }
        internal required int Batch { get; init; }
        internal required LmuActivation Activation { get; init; }
        internal required Array P { get; init; }
        internal Array? PT { get; init; }
    }

    /// <summary>
    /// A plan for a scan with P [D, D] from s0 [B, D] (and, for the full scan, c [T, B, D]), whose buffers hold at most
    /// <paramref name="spanSteps"/> steps at once; null (the libtorch loop) when it does not qualify. Operands that do
    /// not fit together (s0 of another shape or dtype than P's, c of another width) are left to the libtorch loop,
    /// whose errors name the mismatch: the kernel reads spans by P's shape and would read past a shorter one.
    /// </summary>
    internal static Plan? Prepare(Tensor p, Tensor s0, Tensor? c, long spanSteps, LmuActivation activation, bool backward)
    {
        if (!Enabled || !Vector256.IsHardwareAccelerated || !System.Runtime.Intrinsics.X86.Fma.IsSupported) return null;      // else slower than libtorch (ARM64, no FMA)
        if (p.device_type != DeviceType.CPU || p.dtype is not (ScalarType.Float32 or ScalarType.Float64)) return null;
        if (activation is not (LmuActivation.Tanh or LmuActivation.Relu or LmuActivation.Identity)) return null;
        if (p.dim() != 2 || p.shape[0] != p.shape[1] || p.shape[0] == 0) return null;
        long d = p.shape[0];
        if (s0.dim() != 2 || s0.shape[1] != d || s0.shape[0] == 0 || s0.dtype != p.dtype || s0.device_type != DeviceType.CPU) return null;
        long batch = s0.shape[0];
        if (c is not null && (c.dim() != 3 || c.shape[1] != batch || c.shape[2] != d || c.dtype != p.dtype)) return null;
        if (batch * d * d > MaxMultiplyAddsPerStep) return null;
        // A span covers at most int.MaxValue bytes (Tensor.bytes): longer buffers take the libtorch loop.
        if (spanSteps * batch * d * p.ElementSize > int.MaxValue) return null;
        return p.dtype == ScalarType.Float32
            ? new Plan { D = (int)d, Batch = (int)batch, Activation = activation, P = Rows<float>(p, false), PT = backward ? Rows<float>(p, true) : null }
            : new Plan { D = (int)d, Batch = (int)batch, Activation = activation, P = Rows<double>(p, false), PT = backward ? Rows<double>(p, true) : null };
    }

    // A row-major copy of P (or of P^T): the loops read one row per multiplier.
    private static T[] Rows<T>(Tensor p, bool transpose) where T : unmanaged
    {
        using var source = transpose ? p.t() : p.alias();
        using var rows = source.contiguous();
        return MemoryMarshal.Cast<byte, T>(rows.bytes).ToArray();
    }

    /// <summary>
    /// states [len, B, D] holds c_t on entry and s_t on exit; <paramref name="before"/> [B, D] is s_{t0-1}. f applies to
    /// columns from <paramref name="from"/> on.
    /// </summary>
    internal static void Forward(Plan plan, Tensor states, Tensor before, int from)
    {
        using var start = Contiguous(before);
        CheckSizes(plan, states, start);
        Interlocked.Add(ref _steps, states.shape[0]);
        if (plan.P is float[] pf) Forward(plan, Span<float>(states), Span<float>(start), pf, from);
        else Forward(plan, Span<double>(states), Span<double>(start), (double[])plan.P, from);
    }

    /// <summary>
    /// The backward loop over steps [t0, t0 + len) of a scan of <paramref name="steps"/> steps, last step first. gpre
    /// [len, B, D] holds the gradient entering each step's state (<paramref name="incoming"/>) or nothing, and leaves
    /// holding dL/d(pre-activation); <paramref name="derivative"/> [len, B, D - from] is f' (null: the identity);
    /// <paramref name="carry"/> [B, D] is dL/ds after the chunk on entry and dL/ds before it on exit. Gradients below
    /// 1e-30 (float64 1e-280) are flushed to zero every <see cref="LinearScanFunction.FlushInterval"/> steps, as the
    /// libtorch loop does.
    /// </summary>
    internal static void Backward(Plan plan, Tensor gpre, Tensor? derivative, Tensor carry, int from, bool incoming, long t0, long steps)
    {
        Interlocked.Add(ref _steps, gpre.shape[0]);
        var pT = plan.PT ?? throw new InvalidOperationException("The plan was prepared without P^T.");
        CheckSizes(plan, gpre, carry);
        using var f = derivative is null ? null : Contiguous(derivative);
        if (f is not null && f.numel() != gpre.numel() / plan.D * (plan.D - from))
            throw new InvalidOperationException($"The scan kernel's f' has {f.numel()} values; expected {gpre.numel() / plan.D * (plan.D - from)}.");
        if (pT is float[] pf)
            Backward(plan, Span<float>(gpre), f is null ? default : Span<float>(f), Span<float>(carry), pf, from, incoming, t0, steps, 1e-30f);
        else
            Backward(plan, Span<double>(gpre), f is null ? default : Span<double>(f), Span<double>(carry), (double[])pT, from, incoming, t0, steps, 1e-280);
    }

    // The spans are read by the plan's shape: a buffer of another size or type would be read past its end.
    private static void CheckSizes(Plan plan, Tensor steps, Tensor state)
    {
        long size = (long)plan.Batch * plan.D;
        var dtype = plan.P is float[] ? ScalarType.Float32 : ScalarType.Float64;
        if (state.numel() != size || steps.numel() % size != 0 || state.dtype != dtype || steps.dtype != dtype)
        {
            throw new InvalidOperationException(
                $"The scan kernel's plan is [{plan.Batch}, {plan.D}] {dtype}; got steps [{string.Join(", ", steps.shape)}] {steps.dtype} and a state [{string.Join(", ", state.shape)}] {state.dtype}.");
        }
    }

    private static Span<T> Span<T>(Tensor t) where T : unmanaged
    {
        if (!t.is_contiguous()) throw new InvalidOperationException("The scan kernel reads contiguous buffers only.");
        return MemoryMarshal.Cast<byte, T>(t.bytes);
    }

    // An expanded zero state (stride 0) has no storage of its own to read as a span.
    private static Tensor Contiguous(Tensor t) => t.is_contiguous() ? t.alias() : t.contiguous();

    private static void Forward<T>(Plan plan, Span<T> states, ReadOnlySpan<T> before, T[] p, int from)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = plan.Batch, d = plan.D, size = b * d, len = states.Length / size;
        for (int i = 0; i < len; i++)
        {
            var cur = states.Slice(i * size, size);
            StepProduct(cur, i == 0 ? before : states.Slice((i - 1) * size, size), p, b, d);
            if (from == 0) Activate(cur, plan.Activation);
            else if (from < d)
            {
                for (int r = 0; r < b; r++) Activate(cur.Slice((r * d) + from, d - from), plan.Activation);
            }
        }
    }

    private static void Backward<T>(Plan plan, Span<T> gpre, ReadOnlySpan<T> derivative, Span<T> carry, T[] pT, int from,
        bool incoming, long t0, long steps, T tiny)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = plan.Batch, d = plan.D, size = b * d, len = gpre.Length / size, active = d - from;
        for (int i = len - 1; i >= 0; i--)
        {
            var g = gpre.Slice(i * size, size);
            if (incoming) Add(g, carry);
            else carry.CopyTo(g);
            if (!derivative.IsEmpty)
            {
                var f = derivative.Slice(i * b * active, b * active);
                if (from == 0) Multiply(g, f);
                else
                {
                    for (int r = 0; r < b; r++) Multiply(g.Slice((r * d) + from, active), f.Slice(r * active, active));
                }
            }
            carry.Clear();
            StepProduct(carry, g, pT, b, d);
            if ((steps - (t0 + i)) % LinearScanFunction.FlushInterval == 0) FlushTiny(carry, tiny);
        }
    }

    /// <summary>
    /// y += x M for x, y [B, D] and M [D, D], all row-major. Tiles of two rows by four vectors keep their eight
    /// accumulators in registers over the whole k loop, so each of M's vectors is loaded once per two rows and the loop
    /// is bound by the fused multiply-adds, not by loads and stores.
    /// </summary>
    private static void StepProduct<T>(Span<T> y, ReadOnlySpan<T> x, T[] m, int b, int d)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector256<T>.Count, wide = Vector256.IsHardwareAccelerated ? d / (4 * n) * 4 * n : 0;
        int narrow = Vector256.IsHardwareAccelerated ? d / n * n : 0;
        ref T ym = ref MemoryMarshal.GetReference(y);
        ref T xm = ref MemoryMarshal.GetReference(x);
        ref T mm = ref MemoryMarshal.GetArrayDataReference(m);
        for (int c = 0; c < wide; c += 4 * n)
        {
            int r = 0;
            for (; r + 2 <= b; r += 2) Tile2x4(ref Unsafe.Add(ref ym, (r * d) + c), ref Unsafe.Add(ref xm, r * d), ref Unsafe.Add(ref mm, c), d);
            if (r < b) Tile1x4(ref Unsafe.Add(ref ym, (r * d) + c), ref Unsafe.Add(ref xm, r * d), ref Unsafe.Add(ref mm, c), d);
        }
        for (int c = wide; c < narrow; c += n)
        {
            for (int r = 0; r < b; r++) Tile1x1(ref Unsafe.Add(ref ym, (r * d) + c), ref Unsafe.Add(ref xm, r * d), ref Unsafe.Add(ref mm, c), d);
        }
        for (int c = narrow; c < d; c++)
        {
            for (int r = 0; r < b; r++)
            {
                T sum = y[(r * d) + c];
                for (int k = 0; k < d; k++) sum += x[(r * d) + k] * m[(k * d) + c];
                y[(r * d) + c] = sum;
            }
        }
    }

    // Rows r and r+1 of y, four vectors from column c: y[r..r+2, c..c+4n] += x[r..r+2, :] M[:, c..c+4n].
    private static void Tile2x4<T>(ref T y, ref T x, ref T m, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector256<T>.Count;
        ref T y1 = ref Unsafe.Add(ref y, d);
        ref T x1 = ref Unsafe.Add(ref x, d);
        var a0 = Vector256.LoadUnsafe(ref y);
        var a1 = Vector256.LoadUnsafe(ref y, (nuint)n);
        var a2 = Vector256.LoadUnsafe(ref y, (nuint)(2 * n));
        var a3 = Vector256.LoadUnsafe(ref y, (nuint)(3 * n));
        var b0 = Vector256.LoadUnsafe(ref y1);
        var b1 = Vector256.LoadUnsafe(ref y1, (nuint)n);
        var b2 = Vector256.LoadUnsafe(ref y1, (nuint)(2 * n));
        var b3 = Vector256.LoadUnsafe(ref y1, (nuint)(3 * n));
        for (int k = 0; k < d; k++)
        {
            ref T row = ref Unsafe.Add(ref m, k * d);
            var m0 = Vector256.LoadUnsafe(ref row);
            var m1 = Vector256.LoadUnsafe(ref row, (nuint)n);
            var m2 = Vector256.LoadUnsafe(ref row, (nuint)(2 * n));
            var m3 = Vector256.LoadUnsafe(ref row, (nuint)(3 * n));
            var s = Vector256.Create(Unsafe.Add(ref x, k));
            var t = Vector256.Create(Unsafe.Add(ref x1, k));
            a0 = Fma(s, m0, a0);
            a1 = Fma(s, m1, a1);
            a2 = Fma(s, m2, a2);
            a3 = Fma(s, m3, a3);
            b0 = Fma(t, m0, b0);
            b1 = Fma(t, m1, b1);
            b2 = Fma(t, m2, b2);
            b3 = Fma(t, m3, b3);
        }
        a0.StoreUnsafe(ref y);
        a1.StoreUnsafe(ref y, (nuint)n);
        a2.StoreUnsafe(ref y, (nuint)(2 * n));
        a3.StoreUnsafe(ref y, (nuint)(3 * n));
        b0.StoreUnsafe(ref y1);
        b1.StoreUnsafe(ref y1, (nuint)n);
        b2.StoreUnsafe(ref y1, (nuint)(2 * n));
        b3.StoreUnsafe(ref y1, (nuint)(3 * n));
    }

    // One row (an odd batch's last), four vectors: four independent accumulators, as in the two-row tile.
    private static void Tile1x4<T>(ref T y, ref T x, ref T m, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = Vector256<T>.Count;
        var a0 = Vector256.LoadUnsafe(ref y);
        var a1 = Vector256.LoadUnsafe(ref y, (nuint)n);
        var a2 = Vector256.LoadUnsafe(ref y, (nuint)(2 * n));
        var a3 = Vector256.LoadUnsafe(ref y, (nuint)(3 * n));
        for (int k = 0; k < d; k++)
        {
            ref T row = ref Unsafe.Add(ref m, k * d);
            var s = Vector256.Create(Unsafe.Add(ref x, k));
            a0 = Fma(s, Vector256.LoadUnsafe(ref row), a0);
            a1 = Fma(s, Vector256.LoadUnsafe(ref row, (nuint)n), a1);
            a2 = Fma(s, Vector256.LoadUnsafe(ref row, (nuint)(2 * n)), a2);
            a3 = Fma(s, Vector256.LoadUnsafe(ref row, (nuint)(3 * n)), a3);
        }
        a0.StoreUnsafe(ref y);
        a1.StoreUnsafe(ref y, (nuint)n);
        a2.StoreUnsafe(ref y, (nuint)(2 * n));
        a3.StoreUnsafe(ref y, (nuint)(3 * n));
    }

    // One row, one vector (the columns past the four-vector tiles): the k loop split over two accumulators, so
    // consecutive multiply-adds do not wait on each other's results.
    private static void Tile1x1<T>(ref T y, ref T x, ref T m, int d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = Vector256.LoadUnsafe(ref y);
        var e = Vector256<T>.Zero;
        int k = 0;
        for (; k + 2 <= d; k += 2)
        {
            a = Fma(Vector256.Create(Unsafe.Add(ref x, k)), Vector256.LoadUnsafe(ref Unsafe.Add(ref m, k * d)), a);
            e = Fma(Vector256.Create(Unsafe.Add(ref x, k + 1)), Vector256.LoadUnsafe(ref Unsafe.Add(ref m, (k + 1) * d)), e);
        }
        if (k < d) a = Fma(Vector256.Create(Unsafe.Add(ref x, k)), Vector256.LoadUnsafe(ref Unsafe.Add(ref m, k * d)), a);
        (a + e).StoreUnsafe(ref y);
    }

    // The JIT keeps only the branch of T.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<T> Fma<T>(Vector256<T> a, Vector256<T> b, Vector256<T> c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) return Vector256.FusedMultiplyAdd(a.AsSingle(), b.AsSingle(), c.AsSingle()).As<float, T>();
        if (typeof(T) == typeof(double)) return Vector256.FusedMultiplyAdd(a.AsDouble(), b.AsDouble(), c.AsDouble()).As<double, T>();
        return (a * b) + c;
    }

    private static void Add<T>(Span<T> target, ReadOnlySpan<T> values) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = MemoryMarshal.Cast<T, Vector<T>>(target);
        var v = MemoryMarshal.Cast<T, Vector<T>>(values);
        for (int j = 0; j < t.Length; j++) t[j] += v[j];
        for (int j = t.Length * Vector<T>.Count; j < target.Length; j++) target[j] += values[j];
    }

    private static void Multiply<T>(Span<T> target, ReadOnlySpan<T> factors) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var t = MemoryMarshal.Cast<T, Vector<T>>(target);
        var f = MemoryMarshal.Cast<T, Vector<T>>(factors);
        for (int j = 0; j < t.Length; j++) t[j] *= f[j];
        for (int j = t.Length * Vector<T>.Count; j < target.Length; j++) target[j] *= factors[j];
    }

    // |v| < tiny -> 0; NaN compares false and is kept, as libtorch's lt + masked_fill_ keeps it.
    private static void FlushTiny<T>(Span<T> values, T tiny) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var vectors = MemoryMarshal.Cast<T, Vector<T>>(values);
        var limit = new Vector<T>(tiny);
        for (int j = 0; j < vectors.Length; j++)
            vectors[j] = Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(vectors[j]), limit), Vector<T>.Zero, vectors[j]);
        for (int j = vectors.Length * Vector<T>.Count; j < values.Length; j++)
        {
            if (T.Abs(values[j]) < tiny) values[j] = T.Zero;
        }
    }

    private static void Activate<T>(Span<T> values, LmuActivation activation) where T : unmanaged, IFloatingPointIeee754<T>
    {
        switch (activation)
        {
            case LmuActivation.Tanh:
                if (typeof(T) == typeof(float)) TanhKernel.Apply(MemoryMarshal.Cast<T, float>(values));
                else TanhKernel.Apply(MemoryMarshal.Cast<T, double>(values));
                break;
            case LmuActivation.Relu:
                for (int j = 0; j < values.Length; j++)
                {
                    if (values[j] < T.Zero) values[j] = T.Zero;
                }
                break;
        }
    }
}
