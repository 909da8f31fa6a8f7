using Lmu.MLNet.Maths;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// The discretised Legendre system (Ad, Bd) of one LMU layer, fixed or with a trainable theta, and the impulse
/// response H[tau] = Ad^tau Bd that the parallel form convolves with.
/// </summary>
/// <remarks>
/// Fixed theta: Ad and Bd come from the float64 maths (<see cref="DiscreteLegendreSystem"/>) and are cast once.
/// Trainable theta: the parameter is 1/theta (kept non-negative by clamping), and the system is discretised once per
/// forward pass in torch (matrix exponential of the augmented matrix for ZOH), so gradients reach theta.
/// </remarks>
public sealed class LegendreDynamics : nn.Module
{
    private readonly int _order;
    private readonly LmuDiscretizer _method;
    private readonly Dictionary<(long T, ScalarType Type, DeviceType Device), (Tensor H, Tensor? Spectrum)> _cache = new();

    // Fixed theta: Ad^T and Bd derived from the float64 system per dtype and device. Not buffers: a float32 copy
    // converted back to float64 would have lost the digits the float64 oracle checks.
    private readonly DiscreteLegendreSystem? _fixed;
    private readonly Dictionary<(ScalarType Type, DeviceType Device), (Tensor AdT, Tensor Bd)> _matrices = new();

    // Trainable theta: continuous system buffers and the learned 1/theta.
    private Tensor? A;
    private Tensor? B;
    private Parameter? theta_inv;

    /// <summary>Creates the dynamics for the given order, initial theta and discretisation.</summary>
    public LegendreDynamics(int order, double theta, LmuDiscretizer method, bool trainableTheta) : base("LegendreDynamics")
    {
        _order = order;
        _method = method;
        InitialTheta = theta;
        if (trainableTheta)
        {
            A = TensorConversions.FromMatrix(LegendreSystem.ContinuousA(order), float32);
            B = torch.tensor(LegendreSystem.ContinuousB(order), float32);
            theta_inv = nn.Parameter(torch.tensor(1.0 / theta, float32));
        }
        else
        {
            _fixed = DiscreteLegendreSystem.Create(order, theta, method);
        }
        RegisterComponents();
    }

    /// <summary>The theta the layer was created with.</summary>
    public double InitialTheta { get; }

    /// <summary>True when theta is learned.</summary>
    public bool TrainableTheta => theta_inv is not null;

    /// <summary>The current theta (1 / the learned parameter when trainable).</summary>
    public double Theta
    {
        get
        {
            if (theta_inv is null) return InitialTheta;
            using var scope = NewDisposeScope();
            double inv = Math.Max(theta_inv.detach().to(float64).item<double>(), 0);
            return inv == 0 ? double.PositiveInfinity : 1.0 / inv;
        }
    }

    /// <summary>Legendre order q.</summary>
    public int Order => _order;

    /// <summary>The discretisation method.</summary>
    public LmuDiscretizer Method => _method;

    /// <summary>The current system in float64, for export (a trained theta is frozen at its current value).</summary>
    public DiscreteLegendreSystem ToDiscreteSystem() => DiscreteLegendreSystem.Create(_order, Theta, _method);

    /// <summary>
    /// Ad transposed ([q, q], so that row-vector states advance as m Ad^T) and Bd ([q]) in the given dtype. For fixed
    /// theta these are cached: callers must not dispose them.
    /// </summary>
    public (Tensor AdT, Tensor Bd) Matrices(ScalarType dtype, Device device)
    {
        if (_fixed is not null)
        {
            var key = (dtype, device.type);
            if (!_matrices.TryGetValue(key, out var m))
            {
                // The scope owns the chain's temporaries (see TorchScalars on objects left to finalizers).
                using var cacheScope = NewDisposeScope();
                using var ad64 = TensorConversions.FromMatrix(_fixed.Ad, float64);
                using var bd64 = torch.tensor(_fixed.Bd, float64);
                m = (ad64.t().to(dtype, device).contiguous().DetachFromDisposeScope(), bd64.to(dtype, device).DetachFromDisposeScope());
                _matrices[key] = m;
            }
            return m;
        }
        using var scope = NewDisposeScope();
        var inv = theta_inv!.clamp_min(TorchScalars.Zero);
        Tensor ad, bd;
        if (_method == LmuDiscretizer.Euler)
        {
            ad = torch.eye(_order, dtype: A!.dtype, device: A.device).Plus(A * inv);
            bd = B! * inv;
        }
        else
        {
            // ZOH with dt = 1: expm([[A/theta, B/theta], [0, 0]]) = [[Ad, Bd], [0, 1]].
            var top = torch.cat([A! * inv, (B! * inv).unsqueeze(1)], 1);
            var aug = torch.cat([top, torch.zeros(1, _order + 1, dtype: A!.dtype, device: A.device)], 0);
            var e = torch.linalg.matrix_exp(aug);
            ad = e[..(int)_order, ..(int)_order];
            bd = e[..(int)_order, _order];
        }
        return (ad.t().MoveToOuterDisposeScope(), bd.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Impulse response H [T, q] with row tau = Ad^tau Bd (H[0] = Bd). Cached per length, dtype and device when theta
    /// is fixed (callers must not dispose it then); recomputed by repeated doubling when theta is trainable.
    /// </summary>
    public Tensor ImpulseResponse(long length, ScalarType dtype, Device device)
    {
        if (theta_inv is null) return Cached(length, dtype, device, spectrum: false).H;
        var (adT, bd) = Matrices(dtype, device);
        return Doubling(adT, bd, length);
    }

    /// <summary>rfft of H^T with n = 2T: [q, T + 1] complex, for FFT convolution. Same caching rule as H.</summary>
    public Tensor ImpulseSpectrum(long length, ScalarType dtype, Device device)
    {
        if (theta_inv is null) return Cached(length, dtype, device, spectrum: true).Spectrum!;
        using var scope = NewDisposeScope();
        var h = ImpulseResponse(length, dtype, device);
        return torch.fft.rfft(h.t(), 2 * length).MoveToOuterDisposeScope();
    }

    private (Tensor H, Tensor? Spectrum) Cached(long length, ScalarType dtype, Device device, bool spectrum)
    {
        var key = (length, dtype, device.type);
        if (_cache.TryGetValue(key, out var hit) && (!spectrum || hit.Spectrum is not null)) return hit;
        var sys = _fixed!;
        using var hd = TensorConversions.FromMatrix(sys.ImpulseResponse((int)length), float64);
        var h = hit.H ?? hd.to(dtype, device).DetachFromDisposeScope();
        Tensor? spec = hit.Spectrum;
        if (spectrum && spec is null)
        {
            using var ht = hd.t();
            // Transform in float64, then cast: the spectrum is a constant, so its own rounding should not add up.
            using var s64 = torch.fft.rfft(ht, 2 * length);
            spec = s64.to(dtype == float64 ? complex128 : complex64, device).DetachFromDisposeScope();
        }
        var entry = (h, spec);
        _cache[key] = entry;
        return entry;
    }

    /// <summary>H rows Ad^tau Bd for tau &lt; length by doubling: log2(T) matrix products instead of T.</summary>
    private static Tensor Doubling(Tensor adT, Tensor bd, long length)
    {
        using var scope = NewDisposeScope();
        var h = bd.unsqueeze(0);       // rows: (Ad^tau Bd)^T for tau < k
        var powT = adT;                // (Ad^k)^T
        while (h.shape[0] < length)
        {
            h = torch.cat([h, h.matmul(powT)], 0);
            powT = powT.matmul(powT);
        }
        return h[..(int)length].MoveToOuterDisposeScope();
    }


    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            foreach (var (h, s) in _cache.Values)
            {
                h.Dispose();
                s?.Dispose();
            }
            _cache.Clear();
            foreach (var (a, b) in _matrices.Values)
            {
                a.Dispose();
                b.Dispose();
            }
            _matrices.Clear();
        }
        base.Dispose(disposing);
    }
}
