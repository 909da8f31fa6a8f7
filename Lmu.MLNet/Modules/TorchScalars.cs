using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// Scalars that live as long as the process, and the few tensor operations whose TorchSharp overloads would otherwise
/// create a Scalar implicitly.
/// </summary>
/// <remarks>
/// Why this exists: TorchSharp 0.107's <c>Scalar</c> owns a native object, has a finalizer and joins no dispose scope.
/// An implicitly converted Scalar (<c>t * 0.5</c>, <c>a + b</c>, which passes alpha = 1, <c>t.square()</c>) is
/// unreachable as soon as TorchSharp has read its handle, so a garbage collection that lands while libtorch is inside
/// the call finalizes it and libtorch reads freed memory: "Unknown scalar type" or "Expected false to be true" from
/// c10/core/Scalar.h, or a segmentation fault. It happened at random on busy machines; a thread that collects in a
/// loop (the Samples app's <c>soak</c>) made it happen within seconds. The Scalars here are static, so they are never
/// finalized; per-call values are created with <c>ToScalar()</c> under <c>using</c>, which keeps them reachable until
/// the call has returned. build/BannedSymbols.TorchSharp.txt turns every overload with a hidden Scalar into a build
/// error in this library. All of these are read-only to libtorch, so sharing them across threads is safe.
/// </remarks>
internal static class TorchScalars
{
    /// <summary>1.0, for alpha/value arguments on floating-point tensors.</summary>
    public static readonly Scalar One = 1.0.ToScalar();

    /// <summary>1 as an integer, for integer tensors (libtorch rejects a floating-point alpha there).</summary>
    public static readonly Scalar OneInteger = 1L.ToScalar();

    /// <summary>0 as an integer, the start of <see cref="Arange"/>.</summary>
    public static readonly Scalar ZeroInteger = 0L.ToScalar();

    /// <summary>2.0, for the in-place tanh of the scans (2 sigmoid(2x) - 1).</summary>
    public static readonly Scalar Two = 2.0.ToScalar();

    /// <summary>0.0.</summary>
    public static readonly Scalar Zero = 0.0.ToScalar();

    /// <summary>-1.0, the value of tanh's derivative 1 - y·y as one addcmul_.</summary>
    public static readonly Scalar MinusOne = (-1.0).ToScalar();

    /// <summary>-infinity, the fill that keeps masked steps out of a maximum.</summary>
    public static readonly Scalar NegativeInfinity = double.NegativeInfinity.ToScalar();

    /// <summary>a + b (what <c>a + b</c> computes, with alpha held here).</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>In place a += b.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary>1 - t.</summary>
    public static Tensor OneMinus(this Tensor t)
    {
        var r = t.neg();
        r.add_(One, One);
        return r;
    }

    /// <summary>t / value, with the Scalar alive for the whole call.</summary>
    public static Tensor DividedBy(this Tensor t, double value)
    {
        using var s = value.ToScalar();
        return t.div(s);
    }

    /// <summary>t - value, with the Scalar alive for the whole call (integer tensors get an integer Scalar).</summary>
    public static Tensor Minus(this Tensor t, long value)
    {
        using var s = value.ToScalar();
        return t.sub(s);
    }

    /// <summary>0, 1, ..., count - 1 as int64.</summary>
    public static Tensor Arange(long count, Device device)
    {
        using var stop = count.ToScalar();
        return torch.arange(ZeroInteger, stop, OneInteger, int64, device);
    }
}
