using Lmu.MLNet.Maths;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// The discretised memory dynamics (Ad, Bd) of one LMU layer, fixed or learned, and the impulse response
/// H[tau] = Ad^tau Bd that the parallel form convolves with.
/// </summary>
/// <remarks>
/// <para>Fixed (nothing trainable): Ad and Bd come from the float64 maths (<see cref="DiscreteLegendreSystem"/>) and
/// are cast once.</para>
/// <para>Learned (trainable theta, A or B): what is learned is the continuous system theta·dm/dt = A m + B u, that is
/// A [q, q], B [q] and log theta. A and B start from the Legendre system; each is a parameter when trainable and a
/// constant buffer otherwise, and so is log theta. Every forward pass discretises them
/// in torch (ZOH: one matrix exponential of the augmented matrix; Euler: I + A/theta, B/theta), so gradients reach
/// whichever of them trains and theta keeps its meaning (the window length) when A and B train with it. Why the
/// continuous system and not Ad, Bd directly: the discretisation stays what <see cref="LmuDiscretizer"/> says,
/// trainable theta and trainable A/B compose (Ad = expm(A/theta) for both), and the exact Legendre system is the
/// starting point to float rounding; the matrix exponential of a (q+1)-square matrix per pass is small next to the
/// sequence it serves.</para>
/// <para>Why log theta: Adam moves a parameter by about its learning rate per step whatever the gradient's scale. On
/// 1/theta (0.04 for theta 24) a 3e-3 step is 7 % of the value, and on UCR GunPoint it crossed zero within training:
/// theta became infinite, the clamp that kept 1/theta non-negative zeroed its gradient, and the memory stayed silent
/// (test accuracy at chance). On log theta the same step changes theta by 0.3 %, and theta stays positive.</para>
/// </remarks>
public sealed partial class LegendreDynamics : nn.Module
{
    private readonly int _order;
    private readonly LmuDiscretizer _method;
    private readonly bool _trainableTheta;
    private readonly bool _trainableA;
    private readonly bool _trainableB;
    private readonly Dictionary<(long T, ScalarType Type, DeviceType Device, int Index), ResponseEntry> _cache = new();
    private long _cacheClock;
    private long _cacheBytes;

    // Guards the fixed dynamics' caches (H, its spectrum, Ad^T and Bd, the block powers): a module may serve several
    // threads at once (prediction), and two threads filling a Dictionary together can corrupt it or leak a tensor.
    // Ad^T, Bd and the block powers are only ever added (a few per dtype and device), so what one thread was handed
    // stays valid until the module is disposed. Responses are kept per sequence length, one more for every length seen,
    // so they are bounded (ResponseCacheBytes, least recently used out; found by QA: 144 -> 916 MB over 1,200 lengths)
    // and handed out as aliases the caller owns: an evicted entry's storage lives on while a caller still holds it.
    private readonly object _cacheGate = new();

    /// <summary>
    /// Bytes of impulse responses and spectra kept per module for fixed dynamics (the most recently used lengths; the
    /// one in use is always kept). 64 MiB holds H and its spectrum for T = 784 at order 256 (2.4 MB) 26 times over.
    /// </summary>
    internal const long ResponseCacheBytes = 64L << 20;

    /// <summary>This module's budget for the response cache (<see cref="ResponseCacheBytes"/>; smaller in tests).</summary>
    internal long ResponseCacheBudget { get; set; } = ResponseCacheBytes;

    /// <summary>Bytes the response cache holds now (tests).</summary>
    internal long CachedResponseBytes
    {
        get
        {
            lock (_cacheGate) return _cacheBytes;
        }
    }

    /// <summary>Responses dropped from the cache so far (tests).</summary>
    internal long ResponseEvictions { get; private set; }

    private sealed class ResponseEntry(Tensor h)
    {
        public Tensor H { get; } = h;

        public Tensor? Spectrum { get; private set; }

        public long LastUse { get; set; }

        // Sizes read once (each read is a native call, and every hit would re-add all entries under the lock).
        public long Bytes { get; private set; } = h.NumberOfElements * h.ElementSize;

        public void SetSpectrum(Tensor spectrum)
        {
            Spectrum = spectrum;
            Bytes += spectrum.NumberOfElements * spectrum.ElementSize;
        }

        public void Dispose()
        {
            H.Dispose();
            Spectrum?.Dispose();
        }
    }

    // Fixed dynamics: Ad^T and Bd derived from the float64 system per dtype and device. Not buffers: a float32 copy
    // converted back to float64 would have lost the digits the float64 oracle checks.
    private readonly DiscreteLegendreSystem? _fixed;
    private readonly Dictionary<(ScalarType Type, DeviceType Device, int Index), (Tensor AdT, Tensor Bd)> _matrices = new();

    // Learned dynamics: the continuous system and log theta, each a Parameter when it trains and a buffer otherwise
    // (registration follows the runtime type, so the names stay A, B, log_theta either way).
    // Not readonly: Module.to replaces registered tensors through their fields.
    private Tensor? A;
    private Tensor? B;
    private Tensor? log_theta;

    /// <summary>Creates the dynamics for the given order, initial theta and discretisation; only theta may train.</summary>
    public LegendreDynamics(int order, double theta, LmuDiscretizer method, bool trainableTheta)
        : this(order, theta, method, trainableTheta, trainableA: false, trainableB: false)
    {
    }

    /// <summary>
    /// Creates the dynamics for the given order, initial theta and discretisation, learning any of theta, A and B
    /// (initialised from the Legendre system).
    /// </summary>
    /// <remarks>
    /// As <see cref="DiscreteLegendreSystem.Create"/>, Euler below its stability bound is not refused here (its memory
    /// grows without limit); <see cref="LmuLayerOptions"/> refuses it, naming the bound.
    /// </remarks>
    public LegendreDynamics(int order, double theta, LmuDiscretizer method, bool trainableTheta, bool trainableA, bool trainableB)
        : base("LegendreDynamics")
    {
        // The learned system was built from any theta (NaN or -1 gave a NaN response, silently; found by QA).
        ArgumentOutOfRangeException.ThrowIfLessThan(order, 1);
        if (!(theta > 0) || double.IsPositiveInfinity(theta))
            throw new ArgumentOutOfRangeException(nameof(theta), theta, "theta must be positive and finite.");
        if (!Enum.IsDefined(method))
            throw new ArgumentOutOfRangeException(nameof(method), method, "not a known discretizer.");
        _order = order;
        _method = method;
        _trainableTheta = trainableTheta;
        _trainableA = trainableA;
        _trainableB = trainableB;
        InitialTheta = theta;
        if (IsLearned)
        {
            var a = TensorConversions.FromMatrix(LegendreSystem.ContinuousA(order), float32);
            var b = torch.tensor(LegendreSystem.ContinuousB(order), float32);
            var logTheta = torch.tensor(Math.Log(theta), float32);
            A = trainableA ? nn.Parameter(a) : a;
            B = trainableB ? nn.Parameter(b) : b;
            log_theta = trainableTheta ? nn.Parameter(logTheta) : logTheta;
        }
        else
        {
            _fixed = DiscreteLegendreSystem.Create(order, theta, method);
        }
        RegisterComponents();
        ScopeDetach.Components(this);
    }

    /// <summary>The theta the layer was created with.</summary>
    public double InitialTheta { get; }

    /// <summary>
    /// Converts as <see cref="nn.Module"/> does, then gives a float64 log theta its exact starting value. Why: it is
    /// created in float32 with the layer, so a layer converted to float64 ran with exp(float32(ln theta)), about 1e-7
    /// relative off its own theta and off the float64 reference (found by QA). A fixed theta (learned A or B only) is
    /// always its option's; a trainable one is restored only while it is its start rounded to float32, float16 or
    /// bfloat16 (a layer that went through a half type on its way), and otherwise, having trained, keeps its value.
    /// </summary>
    protected override void _toEpilog(ScalarType? dtype, Device? device, bool non_blocking)
    {
        base._toEpilog(dtype, device, non_blocking);
        if (dtype != ScalarType.Float64 || log_theta is null) return;
        double exact = Math.Log(InitialTheta);
        using var _ = torch.no_grad();
        var current = log_theta.item<double>();
        if (!_trainableTheta || current == (float)exact || current == (double)(Half)exact || current == BFloat16(exact))
        {
            using var value = exact.ToScalar();
            log_theta.fill_(value);
        }
    }

    /// <summary>The bfloat16 nearest <paramref name="x"/> (float32's top 16 bits, rounded to nearest even), as a double.</summary>
    private static double BFloat16(double x)
    {
        var bits = BitConverter.SingleToUInt32Bits((float)x);
        bits = (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
        return BitConverter.UInt32BitsToSingle(bits);
    }

    /// <summary>True when theta is learned.</summary>
    public bool TrainableTheta => _trainableTheta;

    /// <summary>True when the continuous state matrix A is learned.</summary>
    public bool TrainableA => _trainableA;

    /// <summary>True when the continuous input vector B is learned.</summary>
    public bool TrainableB => _trainableB;

    /// <summary>True when anything in the dynamics trains, so Ad, Bd and H are recomputed (with gradients) per pass.</summary>
    public bool IsLearned => _trainableTheta || _trainableA || _trainableB;

    /// <summary>
    /// What Ad, Bd and H are computed from when the dynamics are learned (A, B and log theta, trained or not); empty for
    /// fixed dynamics, which depend on the options alone. A value derived from H keys on these.
    /// </summary>
    internal IReadOnlyList<Tensor> LearnedState => IsLearned ? [A!, B!, log_theta!] : [];

    /// <summary>The current theta (exp of the learned log theta when trainable).</summary>
    public double Theta
    {
        get
        {
            if (!_trainableTheta) return InitialTheta;
            ThrowIfDisposed();
            using var scope = NewDisposeScope();
            return Math.Exp(log_theta!.detach().to(float64).item<double>());
        }
    }

    /// <summary>Legendre order q.</summary>
    public int Order => _order;

    /// <summary>The discretisation method.</summary>
    public LmuDiscretizer Method => _method;

    /// <summary>
    /// The current Legendre system in float64, for export (a trained theta is frozen at its current value). Learned A
    /// or B are no longer a Legendre system: use <see cref="DiscreteMatrices"/> then.
    /// </summary>
    /// <exception cref="InvalidOperationException">A or B is trainable.</exception>
    public DiscreteLegendreSystem ToDiscreteSystem()
    {
        if (_trainableA || _trainableB)
            throw new InvalidOperationException("A or B is trainable, so the dynamics are not a Legendre system; read DiscreteMatrices() instead.");
        return DiscreteLegendreSystem.Create(_order, Theta, _method);
    }

    /// <summary>
    /// The current Ad [q, q] and Bd [q] in float64, what the export and the streaming engine run: the float64 Legendre
    /// system when A and B are fixed (at the current theta), else the learned continuous system discretised in
    /// float64 from its current values.
    /// </summary>
    public (double[,] Ad, double[] Bd) DiscreteMatrices()
    {
        ThrowIfDisposed();
        if (!_trainableA && !_trainableB)
        {
            var sys = ToDiscreteSystem();
            return (sys.Ad, sys.Bd);
        }
        using var scope = NewDisposeScope();
        using var noGrad = torch.no_grad();
        var (ad, bd) = Discretise(A!.detach().to(float64, CPU), B!.detach().to(float64, CPU), log_theta!.detach().to(float64, CPU));
        var adFlat = ad.contiguous().data<double>().ToArray();
        var result = new double[_order, _order];
        Buffer.BlockCopy(adFlat, 0, result, 0, adFlat.Length * sizeof(double));
        return (result, bd.contiguous().data<double>().ToArray());
    }

    /// <summary>
    /// Ad transposed ([q, q], so that row-vector states advance as m Ad^T) and Bd ([q]) in the given dtype; the caller
    /// owns them (dispose them, or call inside a dispose scope). For fixed dynamics they are aliases of a cache, made
    /// under its lock, so a Dispose of the module on another thread cannot free the storage under a running pass (it
    /// handed out the cached tensors themselves; found in review). Learned dynamics are discretised on every call, with
    /// autograd history.
    /// </summary>
    public (Tensor AdT, Tensor Bd) Matrices(ScalarType dtype, Device device)
    {
        ThrowIfDisposed();
        if (_fixed is not null)
        {
            var key = (dtype, device.type, device.index);
            lock (_cacheGate)
            {
                ThrowIfDisposed();
                if (!_matrices.TryGetValue(key, out var m))
                {
                    // The scope owns the chain's temporaries (see TorchScalars on objects left to finalizers).
                    using var cacheScope = NewDisposeScope();
                    using var ad64 = TensorConversions.FromMatrix(_fixed.Ad, float64);
                    using var bd64 = torch.tensor(_fixed.Bd, float64);
                    m = (ad64.t().to(dtype, device).contiguous().DetachFromDisposeScope(), bd64.to(dtype, device).DetachFromDisposeScope());
                    _matrices[key] = m;
                }

                return (m.AdT.alias(), m.Bd.alias());
            }
        }
        using var scope = NewDisposeScope();
        // Learned A or B: discretised in float64 (differentiably: the casts carry the gradients back), cast once. In
        // float32, torch's matrix exponential was 9e-5 relative off at order 64 and the impulse response 9e-4 at order
        // 256, so a float32 network trained on another function than its export and engine compute, and the parity
        // tests' 1e-4 failed from order 128 (numerics QA); the float64 result cast is within float32's rounding.
        var (ad, bd) = ThetaOnly ? ThetaOnlyDiscretise() : Discretise(A!.to(float64), B!.to(float64), log_theta!.to(float64));
        return (ad.t().to(dtype, device).MoveToOuterDisposeScope(), bd.to(dtype, device).MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Impulse response H [T, q] with row tau = Ad^tau Bd (H[0] = Bd); the caller owns the result (dispose it, or call
    /// inside a dispose scope). For fixed dynamics it shares the storage of a cache kept per length, dtype and device
    /// (bounded: the least recently used lengths are dropped); learned dynamics recompute it by repeated doubling.
    /// </summary>
    public Tensor ImpulseResponse(long length, ScalarType dtype, Device device)
    {
        ThrowIfDisposed();
        CheckLength(length);
        if (_fixed is not null) return CachedAlias(length, dtype, device, spectrum: false);
        using var scope = NewDisposeScope();
        if (ThetaOnly) return ThetaOnlyImpulse(length, dtype, device).MoveToOuterDisposeScope();
        // The powers in float64 as well, cast at the end: each doubling squares the previous power's rounding.
        var (adT, bd) = Matrices(float64, device);
        return Doubling(adT, bd, length).to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>rfft of H^T with n = 2T: [q, T + 1] complex, for FFT convolution. Same ownership and caching rules as H.</summary>
    public Tensor ImpulseSpectrum(long length, ScalarType dtype, Device device)
    {
        ThrowIfDisposed();
        CheckLength(length);
        if (_fixed is not null) return CachedAlias(length, dtype, device, spectrum: true);
        using var scope = NewDisposeScope();
        var h = ImpulseResponse(length, dtype, device);
        return Spectrum(h, length).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Refuses a length H cannot hold: above int.MaxValue rows it was cut to 32 bits (found by QA: 2^32 + 10 gave 10
    /// rows), and past int.MaxValue values learned dynamics doubled it until the process ran out of memory.
    /// </summary>
    private void CheckLength(long length)
    {
        if (length < 1 || length * _order > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"length must be from 1 to {int.MaxValue / _order} (H holds length x Order = {_order} values).");
    }

    /// <summary>
    /// rfft of H^T [q, T] with n = 2T (zero padding to twice the length makes the circular convolution causal). Call
    /// inside a dispose scope: the transpose is a temporary.
    /// </summary>
    internal static Tensor Spectrum(Tensor h, long length) => torch.fft.rfft(h.t(), 2 * length);

    /// <summary>Ad and Bd from the continuous A, B and log theta, differentiably (ZOH or Euler, dt = 1).</summary>
    private (Tensor Ad, Tensor Bd) Discretise(Tensor a, Tensor b, Tensor logTheta)
    {
        using var scope = NewDisposeScope();
        var inv = logTheta.neg().exp();
        var aScaled = a * inv;
        var bScaled = b * inv;
        Tensor ad, bd;
        if (_method == LmuDiscretizer.Euler)
        {
            ad = torch.eye(_order, dtype: a.dtype, device: a.device).Plus(aScaled);
            bd = bScaled;
        }
        else
        {
            // ZOH with dt = 1: expm([[A/theta, B/theta], [0, 0]]) = [[Ad, Bd], [0, 1]].
            var top = torch.cat([aScaled, bScaled.unsqueeze(1)], 1);
            var aug = torch.cat([top, torch.zeros(1, _order + 1, dtype: a.dtype, device: a.device)], 0);
            var e = torch.linalg.matrix_exp(aug);
            ad = e[..(int)_order, ..(int)_order];
            bd = e[..(int)_order, _order];
        }
        return (ad.MoveToOuterDisposeScope(), bd.MoveToOuterDisposeScope());
    }

    // An alias made under the lock: an eviction by another thread then only drops the cache's own handle.
    private Tensor CachedAlias(long length, ScalarType dtype, Device device, bool spectrum)
    {
        lock (_cacheGate)
        {
            // Again under the lock: a Dispose between the first check and here would have the cache rebuilt (review).
            ThrowIfDisposed();
            var entry = CachedLocked(length, dtype, device, spectrum);
            return spectrum ? entry.Spectrum!.alias() : entry.H.alias();
        }
    }

    private ResponseEntry CachedLocked(long length, ScalarType dtype, Device device, bool spectrum)
    {
        var key = (length, dtype, device.type, device.index);
        _cache.TryGetValue(key, out var entry);
        if (entry is null || (spectrum && entry.Spectrum is null))
        {
            using var hd = TensorConversions.FromMatrix(_fixed!.ImpulseResponse((int)length), float64);
            if (entry is null)
            {
                entry = new ResponseEntry(hd.to(dtype, device).DetachFromDisposeScope());
                _cache[key] = entry;
                _cacheBytes += entry.Bytes;
            }

            if (spectrum)
            {
                using var ht = hd.t();
                // Transform in float64, then cast: the spectrum is a constant, so its own rounding should not add up.
                using var s64 = torch.fft.rfft(ht, 2 * length);
                var before = entry.Bytes;
                entry.SetSpectrum(s64.to(dtype == float64 ? complex128 : complex64, device).DetachFromDisposeScope());
                _cacheBytes += entry.Bytes - before;
            }
        }

        entry.LastUse = ++_cacheClock;
        EvictResponses(entry);
        return entry;
    }

    // Least recently used first, until the kept bytes fit; never the entry in use.
    private void EvictResponses(ResponseEntry inUse)
    {
        while (_cacheBytes > ResponseCacheBudget && _cache.Count > 1)
        {
            var oldest = _cache.Where(p => !ReferenceEquals(p.Value, inUse)).MinBy(p => p.Value.LastUse);
            _cacheBytes -= oldest.Value.Bytes;
            _cache.Remove(oldest.Key);
            oldest.Value.Dispose();
            ResponseEvictions++;
        }
    }

    /// <summary>H rows Ad^tau Bd for tau &lt; length by doubling: log2(T) matrix products instead of T.</summary>
    internal static Tensor Doubling(Tensor adT, Tensor bd, long length)
    {
        using var scope = NewDisposeScope();
        var h = bd.unsqueeze(0);       // rows: (Ad^tau Bd)^T for tau < k
        var powT = adT;                // (Ad^k)^T
        while (h.shape[0] < length)
        {
            h = torch.cat([h, h.MatMul(powT)], 0);
            powT = powT.MatMul(powT);
        }
        return h[..(int)length].MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            // Set under the cache's lock, where every cache lookup checks it, so none rebuilds after this.
            lock (_cacheGate)
            {
                _disposed = true;
                DisposeCaches();
            }
        }

        _disposed = true;
        base.Dispose(disposing);
    }

    /// <summary>
    /// Throws <see cref="ObjectDisposedException"/> once disposed: a learned theta read TorchSharp's freed tensor ("Tensor
    /// invalid -- empty handle"), and fixed dynamics would have rebuilt their caches on a disposed module (found in review).
    /// </summary>
    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    private bool _disposed;

    private void DisposeCaches()
    {
        foreach (var entry in _cache.Values)
        {
            entry.Dispose();
        }
        _cache.Clear();
        _cacheBytes = 0;
        foreach (var (a, b) in _matrices.Values)
        {
            a.Dispose();
            b.Dispose();
        }
        _matrices.Clear();
        DisposePowers();
    }
}
