using System.Collections.Concurrent;
using System.Globalization;

namespace Lmu.MLNet.Maths;

/// <summary>
/// Where forward Euler keeps the Legendre memory stable. Euler's <c>Ad = I + A / theta</c> has the eigenvalues
/// <c>1 + lambda / theta</c> for the eigenvalues lambda of A (all in the left half-plane), and <c>|1 + lambda / theta| &lt;= 1</c>
/// exactly when <c>theta &gt;= |lambda|^2 / (2 |Re lambda|)</c>; the largest of these bounds is the order's minimum theta.
/// Below it the memory grows geometrically at every step, and the execution forms (cell, scan, FFT) stop agreeing, since
/// each rounds a growing quantity differently (found by QA: 0.57 relative between the cell and FFT forms at order 11,
/// theta 14.6, where the memory grew by 4e32 over 246 steps). ZOH (<c>Ad = expm(A / theta)</c>) is stable for every theta.
/// </summary>
internal static class EulerStability
{
    /// <summary>
    /// The largest order Euler is offered for. Up to it this bound agrees with LAPACK's eigenvalues to 4e-5 relative
    /// (order 500; 4e-9 up to 128) and takes 0.7 s the first time (order 512); above it A's eigenvalues are so sensitive
    /// to rounding that neither gives the bound to 2 % (order 1,024: 65,934 here, 67,456 from LAPACK; found in review),
    /// and the bound passes 20,000 steps, where Euler is no cheaper than ZOH for anything. Use ZOH there.
    /// </summary>
    internal const int LargestOrder = 512;

    private static readonly ConcurrentDictionary<int, double> Minimum = new();

    /// <summary>
    /// The smallest theta at which Euler's memory of <paramref name="order"/> is stable in exact arithmetic (3.08 at order
    /// 3, 17.7 at 8, 197 at 32, 2,051 at 128). Computed once per order from A's eigenvalues (about 10 order^3 flops). In
    /// float arithmetic A's strong non-normality still lets a high-order memory grow for a while just above the bound
    /// (order 256 at 1.05 times it: a factor of 1e6 over 4,096 steps, found in review); a theta well above it is safer.
    /// </summary>
    public static double MinimumTheta(int order) => Minimum.GetOrAdd(order, Compute);

    /// <summary>
    /// Throws <see cref="ArgumentException"/> "{option} = {theta} {why}." when Euler is unstable there (for options
    /// resolved at Fit). Its ParamName is the option's own name (the part after the last '.'), as every other option
    /// refusal names it.
    /// </summary>
    public static void Require(int order, double theta, string option, string? resolvedFrom = null)
    {
        if (Refusal(order, theta) is { } why)
        {
            throw new ArgumentException($"{option} = {theta.ToString(CultureInfo.InvariantCulture)}{resolvedFrom} {why}.", option[(option.LastIndexOf('.') + 1)..]);
        }
    }

    /// <summary>
    /// Null when Euler at <paramref name="theta"/> is stable for <paramref name="order"/>, else why not, worded to follow
    /// "{option} = {theta} " in a message.
    /// </summary>
    public static string? Refusal(int order, double theta)
    {
        if (order > LargestOrder)
        {
            return $"cannot be checked for stability at Order {order}: the Euler discretisation is offered up to order {LargestOrder}, where its bound " +
                   $"can still be computed (theta at least {RoundedUp(MinimumTheta(LargestOrder))} there, more above); use LmuDiscretizer.Zoh, which is stable for every theta";
        }

        var minimum = MinimumTheta(order);
        // A relative 1e-9 below the bound still passes: the eigenvalues carry rounding, and a step that grows by a
        // factor of 1 + 1e-9 is harmless.
        if (theta >= minimum * (1 - 1e-9))
        {
            return null;
        }

        return $"is below {RoundedUp(minimum)}, the smallest theta at which the Euler discretisation of an order-{order} memory is stable " +
               "(below it Ad = I + A/theta has an eigenvalue outside the unit circle, so the memory grows at every step and the execution forms disagree); " +
               $"raise theta to at least {RoundedUp(minimum)} or use LmuDiscretizer.Zoh, which is stable for every theta";
    }

    private static double Compute(int order)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(order, 1);
        var a = SquareMatrix.Flatten(LegendreSystem.ContinuousA(order));
        double bound = 0;
        foreach (var lambda in RealEigenvalues.Of(a, order))
        {
            // A is Hurwitz (every Re lambda < 0); a rounding that put one on the axis would make Euler never stable.
            bound = lambda.Real < 0
                ? Math.Max(bound, (lambda.Real * lambda.Real + lambda.Imaginary * lambda.Imaginary) / (-2 * lambda.Real))
                : double.PositiveInfinity;
        }

        return bound;
    }

    /// <summary>Four significant digits, rounded up, so the value printed is itself stable.</summary>
    private static string RoundedUp(double value)
    {
        var scale = Math.Pow(10, 3 - Math.Floor(Math.Log10(value)));
        return (Math.Ceiling(value * scale) / scale).ToString("G6", CultureInfo.InvariantCulture);
    }
}
