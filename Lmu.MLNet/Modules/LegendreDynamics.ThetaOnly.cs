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
        return (ad.Plus(dAd * delta).MoveToOuterDisposeScope(), bd.Plus(dBd * delta).MoveToOuterDisposeScope());
    }

    /// <summary>H [T, q] (rows (Ad^tau Bd)^T) with the closed-form derivative in log theta attached.</summary>
    private Tensor ThetaOnlyImpulse(long length, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        Tensor h, dh;
        using (no_grad())
        {
            var (ad, bd, _, _) = ThetaOnlyParts();
            var adT = ad.t().to(dtype, device);
            var aT = A!.t().to(dtype, device);
            var inv = log_theta!.neg().exp().to(dtype, device);
            if (_method == LmuDiscretizer.Euler)
            {
                h = Doubling(adT, bd.to(dtype, device), length);
                var tau = TorchScalars.Arange(length, device).to(dtype).unsqueeze(1);
                // H_(tau-1) for each row; row 0 is multiplied by tau = 0.
                var previous = cat([zeros(1, _order, dtype: dtype, device: device), h.narrow(0, 0, length - 1)], 0);
                dh = -(previous.matmul(aT) * tau * inv).Plus(h);
            }
            else
            {
                // One doubling advances both Bd and B: rows [T, 2, q].
                var both = Doubling(adT, stack([bd, B!], 0).to(dtype, device), length);
                h = both.select(1, 0);
                var g = both.select(1, 1);
                var tauPlusOne = TorchScalars.Arange(length + 1, device).narrow(0, 1, length).to(dtype).unsqueeze(1);
                dh = -((h.matmul(aT) * tauPlusOne).Plus(g) * inv);
            }
        }
        Interlocked.Increment(ref _analyticThetaCalls);
        return h.Plus(dh * Delta().to(dtype, device)).MoveToOuterDisposeScope();
    }

    /// <summary>Ad, Bd and their derivatives in log theta, all without autograd history, in the parameters' dtype.</summary>
    private (Tensor Ad, Tensor Bd, Tensor DAd, Tensor DBd) ThetaOnlyParts()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var inv = log_theta!.neg().exp();
        Tensor ad, bd, dAd, dBd;
        if (_method == LmuDiscretizer.Euler)
        {
            var aScaled = A! * inv;
            ad = eye(_order, dtype: A!.dtype, device: A!.device).Plus(aScaled);
            bd = B! * inv;
            dAd = -aScaled;
            dBd = -bd;
        }
        else
        {
            (ad, bd) = Discretise(A!, B!, log_theta!);
            dAd = -(A!.matmul(ad) * inv);
            dBd = -(A!.matmul(bd).Plus(B!) * inv);
        }
        Interlocked.Increment(ref _analyticThetaCalls);
        return (ad.MoveToOuterDisposeScope(), bd.MoveToOuterDisposeScope(), dAd.MoveToOuterDisposeScope(), dBd.MoveToOuterDisposeScope());
    }

    /// <summary>log theta minus its detached self: zero in value, gradient one.</summary>
    private Tensor Delta() => log_theta! - log_theta!.detach();
}
