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
    private readonly Dictionary<long, Tensor> _responses = new();
    private readonly Dictionary<long, Tensor> _spectra = new();
    private (Tensor AdT, Tensor Bd)? _matrices;

    /// <summary>A view for tensors of the given dtype and device.</summary>
    public DynamicsPass(LegendreDynamics dynamics, ScalarType dtype, Device device)
    {
        _dynamics = dynamics;
        _dtype = dtype;
        _device = device;
    }

    /// <summary>Ad^T [q, q] and Bd [q] (see <see cref="LegendreDynamics.Matrices"/>); never dispose them.</summary>
    public (Tensor AdT, Tensor Bd) Matrices() => _matrices ??= _dynamics.Matrices(_dtype, _device);

    /// <summary>H [length, q] with row tau = Ad^tau Bd; never dispose it.</summary>
    public Tensor ImpulseResponse(long length)
    {
        if (!_dynamics.IsLearned) return _dynamics.ImpulseResponse(length, _dtype, _device);
        if (!_responses.TryGetValue(length, out var h))
        {
            // Theta alone learning: H with its closed-form derivative, no autograd through the doubling.
            h = _dynamics.ClosedFormTheta
                ? _dynamics.ImpulseResponse(length, _dtype, _device)
                : LegendreDynamics.Doubling(Matrices().AdT, Matrices().Bd, length);
            _responses[length] = h;
        }
        return h;
    }

    /// <summary>rfft of H^T with n = 2 length: [q, length + 1] complex; never dispose it.</summary>
    public Tensor ImpulseSpectrum(long length)
    {
        if (!_dynamics.IsLearned) return _dynamics.ImpulseSpectrum(length, _dtype, _device);
        if (!_spectra.TryGetValue(length, out var s))
        {
            s = LegendreDynamics.Spectrum(ImpulseResponse(length), length);
            _spectra[length] = s;
        }
        return s;
    }
}
