using Lmu.MLNet.Maths;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <remarks>
/// <para>Learned theta with A and B fixed. Everything theta changes is then a function of A/theta, which commutes with
/// A, so the derivatives in log theta have closed forms (G_tau = Ad^tau B, H_tau = Ad^tau Bd):</para>
/// <para>ZOH: dAd = -(A/theta) Ad, dBd = -(A Bd + B)/theta (the top blocks of -(M/theta) expm(M/theta) for the
/// augmented M = [[A, B], [0, 0]]), and dH_tau = -((tau + 1) A H_tau + G_tau)/theta.</para>
/// <para>Euler (Ad = I + A/theta, Bd = B/theta): dAd = -A/theta, dBd = -Bd, dH_tau = -(tau A H_(tau-1)/theta + H_tau).</para>
/// <para>Each quantity X is computed without autograd and returned as X0 + dX (log theta - detach(log theta)): the value
/// is X0 exactly and the gradient that reaches log theta is sum(grad X * dX), the exact first derivative. Why: autograd
/// through torch's matrix exponential costs an exponential of twice the size in backward, and through the impulse
/// doubling log2(T) more q x q products; at psMNIST's order 468 that was about 0.45 s per batch, 25 times the rest of
/// the training step. Second derivatives through these are not available (nothing here asks for them).</para>
/// </remarks>
public sealed partial class LegendreDynamics
{
    // Counts the analytic theta-only passes, so tests can tell that the path they compare was taken.
    private static long _analyticThetaCalls;

    /// <summary>Takes the closed-form theta derivative when only theta learns (off: autograd through expm). Settable for tests.</summary>
    internal static bool AnalyticThetaDerivative { get; set; } = true;

    internal static long AnalyticThetaCalls => Interlocked.Read(ref _analyticThetaCalls);

    /// <summary>True when only theta learns and the closed-form derivatives apply (see the remarks).</summary>
    internal bool ClosedFormTheta => ThetaOnly;

    private bool ThetaOnly => _trainableTheta && !_trainableA && !_trainableB && AnalyticThetaDerivative;

    /// <summary>Ad [q, q] and Bd [q] with the closed-form derivative in log theta attached (see the remarks).</summary>
    private (Tensor Ad, Tensor Bd) ThetaOnlyDiscretise()
    {
        using var scope = NewDisposeScope();
        var (ad, bd, dAd, dBd) = ThetaOnlyParts();
        var delta = Delta();
        var type = A!.dtype;
        return (ad.to(type).Plus(dAd.to(type) * delta).MoveToOuterDisposeScope(), bd.to(type).Plus(dBd.to(type) * delta).MoveToOuterDisposeScope());
    }

    /// <summary>H [T, q] (rows (Ad^tau Bd)^T) with the closed-form derivative in log theta attached.</summary>
    private Tensor ThetaOnlyImpulse(long length, ScalarType dtype, Device device)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(length, 1);
        using var scope = NewDisposeScope();
        Tensor h, dh;
        using (no_grad())
        {
            // In float64 on the parameters' device (see ThetaOnlyParts), cast once at the end.
            var (ad, bd, _, _) = ThetaOnlyParts();
            var adT = ad.t();
            var aT = A!.t().to(float64);
            var inv = log_theta!.to(float64).neg().exp();
            if (_method == LmuDiscretizer.Euler)
            {
                h = Stepped(adT, bd.unsqueeze(0), length).select(1, 0);
                var tau = TorchScalars.Arange(length, ad.device).to(float64).unsqueeze(1);
                // H_(tau-1) for each row; row 0 is multiplied by tau = 0.
                var previous = cat([zeros(1, _order, dtype: float64, device: ad.device), h.narrow(0, 0, length - 1)], 0);
                dh = -(previous.MatMul(aT) * tau * inv).Plus(h);
            }
            else
            {
                // One pass advances both Bd and B: rows [T, 2, q].
                var both = Stepped(adT, stack([bd, B!.to(float64)], 0), length);
                h = both.select(1, 0);
                var g = both.select(1, 1);
                var tauPlusOne = TorchScalars.Arange(length + 1, ad.device).narrow(0, 1, length).to(float64).unsqueeze(1);
                dh = -((h.MatMul(aT) * tauPlusOne).Plus(g) * inv);
            }
            h = h.to(dtype, device);
            dh = dh.to(dtype, device);
        }
        return h.Plus(dh * Delta().to(dtype, device)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Ad, Bd and their derivatives in log theta in float64, without autograd history. Why float64: as for fixed
    /// dynamics, the float32 matrix exponential and doubling lose digits that order 468 needs (H off by up to 1e-3
    /// relative at psMNIST's theta 784, against 3e-8 for the float64 result cast to float32).
    /// </summary>
    private (Tensor Ad, Tensor Bd, Tensor DAd, Tensor DBd) ThetaOnlyParts()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var a = A!.to(float64);
        var b = B!.to(float64);
        var logTheta = log_theta!.to(float64);
        var inv = logTheta.neg().exp();
        Tensor ad, bd, dAd, dBd;
        if (_method == LmuDiscretizer.Euler)
        {
            var aScaled = a * inv;
            ad = eye(_order, dtype: float64, device: a.device).Plus(aScaled);
            bd = b * inv;
            dAd = -aScaled;
            dBd = -bd;
        }
        else
        {
            (ad, bd) = Discretise(a, b, logTheta);
            dAd = -(a.MatMul(ad) * inv);
            dBd = -(a.MatMul(bd).Plus(b) * inv);
        }
        Interlocked.Increment(ref _analyticThetaCalls);
        return (ad.MoveToOuterDisposeScope(), bd.MoveToOuterDisposeScope(), dAd.MoveToOuterDisposeScope(), dBd.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Rows start Ad^tau (as row vectors: start [r, q] times (Ad^T)^tau) for tau &lt; length, [length, r, q], one step at
    /// a time. Why not <see cref="Doubling"/>: without autograd nothing needs the log2(T) squarings, and T small products
    /// cost about a sixth of them in float64 at order 468 (0.34 instead of 2 GFLOP).
    /// </summary>
    private static Tensor Stepped(Tensor adT, Tensor start, long length)
    {
        using var scope = NewDisposeScope();
        var rows = empty([length, start.shape[0], start.shape[1]], dtype: start.dtype, device: start.device);
        var previous = rows.select(0, 0);
        previous.copy_(start);
        for (long t = 1; t < length; t++)
        {
            var row = rows.select(0, t);
            using (var next = previous.MatMul(adT)) row.copy_(next);
            previous = row;
        }
        return rows.MoveToOuterDisposeScope();
    }

    /// <summary>log theta minus its detached self: zero in value, gradient one.</summary>
    private Tensor Delta() => log_theta! - log_theta!.detach();
}
