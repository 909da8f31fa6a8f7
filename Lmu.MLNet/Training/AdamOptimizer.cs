using Lmu.MLNet.Modules;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lmu.MLNet.Training;

/// <summary>
/// Adam (Kingma &amp; Ba 2015) and AdamW (decoupled weight decay, Loshchilov &amp; Hutter 2019) with every native
/// object owned explicitly: the same update as <c>torch.optim.Adam</c>/<c>AdamW</c>, without their hidden Scalars.
/// </summary>
/// <remarks>
/// <para>Why not TorchSharp's optimizers: their <c>step</c> passes doubles where libtorch takes a Scalar
/// (<c>mul_(beta1)</c>, <c>add_(grad, alpha: 1 - beta1)</c>, <c>addcdiv_(.., value: -step)</c>), so each call creates a
/// Scalar that nothing references once its handle is read. A garbage collection during the native call finalizes it
/// and libtorch reads freed memory ("Unknown scalar type" at c10/core/Scalar.h, or a crash): training died at random
/// on busy machines. Here the constant Scalars are fields disposed with the optimizer, the per-step ones live under
/// <c>using</c> until the step returns, and every temporary tensor is in the step's dispose scope.</para>
/// <para>Per parameter p with gradient g at step t (learning rate lr, decay wd):
/// p ← p (1 - lr wd) (AdamW only); m ← β1 m + (1 - β1) g; v ← β2 v + (1 - β2) g²;
/// p ← p - (lr / (1 - β1^t)) m / (√v / √(1 - β2^t) + ε), which is PyTorch's update. It is computed as
/// p ← p - (lr √(1 - β2^t) / (1 - β1^t)) m / (√v + ε √(1 - β2^t)) (the same value, one pass over v fewer) with lerp_ for
/// m, so results match TorchSharp's Adam to float rounding (tested, with a float64 reference).</para>
/// </remarks>
public sealed class AdamOptimizer : IDisposable
{
    private readonly Parameter[] _parameters;
    private readonly Tensor[] _m;
    private readonly Tensor[] _v;
    private readonly Tensor[] _oneMinusBeta1;
    private readonly Scalar _beta2, _oneMinusBeta2;
    private readonly double _b1, _b2, _eps;
    private bool _disposed;

    /// <summary>Creates the optimizer over <paramref name="parameters"/> (moments start at zero).</summary>
    /// <param name="parameters">Trainable parameters; the optimizer keeps references, not copies.</param>
    /// <param name="learningRate">Step size lr (&gt; 0).</param>
    /// <param name="beta1">First-moment decay β1 in [0, 1). Default 0.9.</param>
    /// <param name="beta2">Second-moment decay β2 in [0, 1). Default 0.999.</param>
    /// <param name="epsilon">ε added to the denominator (&gt; 0). Default 1e-8.</param>
    /// <param name="weightDecay">Decoupled weight decay wd (AdamW) when &gt; 0. Default 0 (Adam).</param>
    public AdamOptimizer(IEnumerable<Parameter> parameters, double learningRate, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Require(learningRate > 0 && double.IsFinite(learningRate), nameof(learningRate), learningRate, "> 0");
        Require(beta1 >= 0 && beta1 < 1, nameof(beta1), beta1, "in [0, 1)");
        Require(beta2 >= 0 && beta2 < 1, nameof(beta2), beta2, "in [0, 1)");
        Require(epsilon > 0 && double.IsFinite(epsilon), nameof(epsilon), epsilon, "> 0");
        Require(weightDecay >= 0 && double.IsFinite(weightDecay), nameof(weightDecay), weightDecay, ">= 0");
        _parameters = parameters.ToArray();
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        _b1 = beta1;
        _b2 = beta2;
        _eps = epsilon;
        _beta2 = beta2.ToScalar();
        _oneMinusBeta2 = (1 - beta2).ToScalar();
        _m = new Tensor[_parameters.Length];
        _v = new Tensor[_parameters.Length];
        _oneMinusBeta1 = new Tensor[_parameters.Length];
        using var noGrad = torch.no_grad();
        for (var i = 0; i < _parameters.Length; i++)
        {
            // Outside any caller's dispose scope: the moments live as long as the optimizer.
            _m[i] = torch.zeros_like(_parameters[i]).DetachFromDisposeScope();
            _v[i] = torch.zeros_like(_parameters[i]).DetachFromDisposeScope();
            // lerp_ takes its weight as a tensor of the parameter's type and device (a Scalar would convert implicitly and throw).
            _oneMinusBeta1[i] = torch.tensor(1 - beta1, dtype: _parameters[i].dtype, device: _parameters[i].device).DetachFromDisposeScope();
        }
    }

    /// <summary>The step size used by the next <see cref="Step"/> (a schedule may change it between steps).</summary>
    public double LearningRate { get; set; }

    /// <summary>Decoupled weight decay (0: plain Adam).</summary>
    public double WeightDecay { get; }

    /// <summary>Steps taken so far (t of the bias corrections).</summary>
    public long StepCount { get; private set; }

    /// <summary>Sets every parameter's gradient to zero (parameters without a gradient are left as they are).</summary>
    public void ZeroGrad()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var scope = NewDisposeScope();
        foreach (var p in _parameters)
        {
            // Each read of .grad is a new handle: the scope owns it.
            p.grad?.zero_();
        }
    }

    /// <summary>One Adam/AdamW update of every parameter that has a gradient.</summary>
    public void Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        StepCount++;
        var lr = LearningRate;
        double correction1 = 1 - Math.Pow(_b1, StepCount), correction2 = 1 - Math.Pow(_b2, StepCount);
        // Per-step Scalars: `using` keeps each reachable until the end of this method, after the last native call.
        using var decay = (1 - (lr * WeightDecay)).ToScalar();
        // m / (sqrt(v / c2) + eps) = sqrt(c2) m / (sqrt(v) + eps sqrt(c2)): the bias correction of v moves into the step
        // size and epsilon (the same value as PyTorch's update), one pass over v fewer per parameter; with lerp_ for m
        // (one op instead of two), 6 ops per parameter instead of 8 (bench ff_dense: Adam 0.117 -> 0.09 ms of a 1.2 ms step).
        using var scaledEpsilon = (_eps * Math.Sqrt(correction2)).ToScalar();
        using var negativeStep = (-lr * Math.Sqrt(correction2) / correction1).ToScalar();
        using var noGrad = torch.no_grad();
        using var scope = NewDisposeScope();
        var fused = new AdamKernel.Step(1 - (lr * WeightDecay), 1 - _b1, _b2, 1 - _b2, _eps * Math.Sqrt(correction2), -lr * Math.Sqrt(correction2) / correction1);
        for (var i = 0; i < _parameters.Length; i++)
        {
            var p = _parameters[i];
            var g = p.grad;
            if (g is null) continue;
            // One managed pass over p, g, m and v where the tensors allow it (AdamKernel); the same update by six
            // libtorch ops otherwise. The kernel writes p's storage directly, so an in-place op on an empty view of p
            // then bumps p's version counter as the tensor path's ops do: a backward pass through a graph that saved
            // the old p still fails loudly instead of mixing old activations with new weights.
            if (p.dim() > 0 && AdamKernel.TryApply(p, g, _m[i], _v[i], fused))
            {
                p.narrow(0, 0, 0).zero_();
                continue;
            }
            if (WeightDecay > 0) p.mul_(decay);
            _m[i].lerp_(g, _oneMinusBeta1[i]);
            _v[i].mul_(_beta2).addcmul_(g, g, _oneMinusBeta2);
            var denominator = _v[i].sqrt();
            denominator.add_(scaledEpsilon, TorchScalars.One);
            p.addcdiv_(_m[i], denominator, negativeStep);
        }

        // The field Scalars are read by native code above; keep this object (their owner) reachable until here.
        GC.KeepAlive(this);
    }

    /// <summary>Releases the moment tensors and the Scalars.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _m) t.Dispose();
        foreach (var t in _v) t.Dispose();
        foreach (var t in _oneMinusBeta1) t.Dispose();
        _beta2.Dispose();
        _oneMinusBeta2.Dispose();
    }

    private static void Require(bool ok, string name, double value, string rule)
    {
        if (!ok) throw new ArgumentOutOfRangeException(name, value, $"AdamOptimizer {name} must be {rule}; got {value}.");
    }
}
