namespace Lmu.MLNet.Maths;

/// <summary>
/// The continuous-time Legendre delay system <c>theta * dm/dt = A m + B u</c> of Voelker et al. (2019), whose state
/// <c>m</c> holds the Legendre coefficients of the input over the sliding window <c>[t - theta, t]</c>.
/// </summary>
public static class LegendreSystem
{
    /// <summary>
    /// The state matrix: <c>A[i,j] = (2i+1) * (-1 if i &lt; j else (-1)^(i-j+1))</c> for <c>i, j = 0..order-1</c>.
    /// </summary>
    /// <param name="order">Number of Legendre coefficients kept (at least 1).</param>
    /// <returns>A new <c>order x order</c> matrix.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> is below 1.</exception>
    public static double[,] ContinuousA(int order)
    {
        MathsGuard.Order(order);
        var a = new double[order, order];
        for (var i = 0; i < order; i++)
        {
            for (var j = 0; j < order; j++)
            {
                // Above the diagonal every entry is negative; on and below it the sign alternates, starting
                // negative on the diagonal ((-1)^1), which is what makes the system stable.
                var sign = i < j ? -1.0 : ((i - j + 1) % 2 == 0 ? 1.0 : -1.0);
                a[i, j] = (2 * i + 1) * sign;
            }
        }

        return a;
    }

    /// <summary>The input vector: <c>B[i] = (2i+1) * (-1)^i</c> for <c>i = 0..order-1</c>.</summary>
    /// <param name="order">Number of Legendre coefficients kept (at least 1).</param>
    /// <returns>A new vector of length <paramref name="order"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> is below 1.</exception>
    public static double[] ContinuousB(int order)
    {
        MathsGuard.Order(order);
        var b = new double[order];
        for (var i = 0; i < order; i++)
        {
            b[i] = (2 * i + 1) * (i % 2 == 0 ? 1.0 : -1.0);
        }

        return b;
    }
}
