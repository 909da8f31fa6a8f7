using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// One forward pass's view of a layer's <see cref="LegendreDynamics"/>: learned dynamics are discretised, and their
/// impulse response and its spectrum computed, at most once per pass (with autograd history), however many places of
/// the pass read them; fixed dynamics come from the module's caches.
/// </summary>
/// <remarks>
/// Why a per-pass object and not a memo on the module: a module may serve several threads at once (prediction), and
/// learned matrices must be recomputed after every optimiser step. Create it inside the pass's dispose scope: that
/// scope owns what it computes.
/// </remarks>
internal sealed class DynamicsPass
{
    private readonly LegendreDynamics _dynamics;
    private readonly ScalarType _dtype;
    private readonly Device _device;
    private readonly long _truncation;
    private readonly Dictionary<long, Tensor> _responses = new();
    private readonly Dictionary<long, Tensor> _spectra = new();
    private (Tensor AdT, Tensor Bd)? _matrices;
    private (Tensor AdT, Tensor Bd)? _exact;

    /// <summary>
    /// A view for tensors of the given dtype and device. With <paramref name="truncation"/> k &gt; 0 the impulse
    /// response is a window: H[s] = 0 for lags s &gt;= k, in every form that reads it (the convolutions, their bias
    /// responses, the last-step product), so they all compute the same truncated memory.
    /// </summary>
    public DynamicsPass(LegendreDynamics dynamics, ScalarType dtype, Device device, long truncation = 0)
    {
        _dynamics = dynamics;
        _dtype = dtype;
        _device = device;
        _truncation = truncation;
    }

    /// <summary>Whether H is cut short for sequences of <paramref name="length"/> steps.</summary>
    public bool Truncates(long length) => _truncation > 0 && _truncation < length;

    /// <summary>Ad^T [q, q] and Bd [q] (see <see cref="LegendreDynamics.Matrices"/>); owned by the pass's dispose scope (never dispose them).</summary>
    public (Tensor AdT, Tensor Bd) Matrices() => _matrices ??= Discretised
        ? (Exact().AdT.to(_dtype), Exact().Bd.to(_dtype))
        : _dynamics.Matrices(_dtype, _device);

    // Learned A or B: discretised per pass with autograd history. Once, in float64 (see LegendreDynamics.Matrices),
    // for the matrices and the impulse response's powers both.
    private bool Discretised => _dynamics.IsLearned && !_dynamics.ClosedFormTheta;

    private (Tensor AdT, Tensor Bd) Exact() => _exact ??= _dynamics.Matrices(float64, _device);

    /// <summary>H [length, q] with row tau = Ad^tau Bd (zero from the truncation on); owned by the pass's dispose scope (never dispose it).</summary>
    public Tensor ImpulseResponse(long length)
    {
        if (!_dynamics.IsLearned && !Truncates(length)) return _dynamics.ImpulseResponse(length, _dtype, _device);
        if (!_responses.TryGetValue(length, out var h))
        {
            // Fixed dynamics come from the module's cache; theta alone learning has a closed-form derivative, so no
            // autograd through the doubling.
            h = !_dynamics.IsLearned || _dynamics.ClosedFormTheta
                ? _dynamics.ImpulseResponse(length, _dtype, _device)
                : LegendreDynamics.Doubling(Exact().AdT, Exact().Bd, length).to(_dtype);
            if (Truncates(length))
            {
                // The window's rows keep their autograd history (none when fixed); the rest are zero.
                h = torch.cat([h.narrow(0, 0, _truncation), torch.zeros([length - _truncation, h.shape[1]], dtype: h.dtype, device: h.device)], 0);
            }
            _responses[length] = h;
        }
        return h;
    }

    /// <summary>rfft of H^T with n = 2 length: [q, length + 1] complex; owned by the pass's dispose scope (never dispose it).</summary>
    public Tensor ImpulseSpectrum(long length)
    {
        if (!_dynamics.IsLearned && !Truncates(length)) return _dynamics.ImpulseSpectrum(length, _dtype, _device);
        if (!_spectra.TryGetValue(length, out var s))
        {
            s = LegendreDynamics.Spectrum(ImpulseResponse(length), length);
            _spectra[length] = s;
        }
        return s;
    }
}
