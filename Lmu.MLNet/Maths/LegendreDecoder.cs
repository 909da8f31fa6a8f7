namespace Lmu.MLNet.Maths;

/// <summary>
/// Reads delayed input back out of a Legendre memory: <c>u(t - r*theta) ≈ sum_i c_i(r) m_t[i]</c> with
/// <c>c_i(r) = P_i(2r - 1)</c>, the shifted Legendre polynomial of degree <c>i</c> evaluated at <c>r</c>.
/// </summary>
public static class LegendreDecoder
{
    /// <summary>The decoding weights <c>c_i(r)</c> for <c>i = 0..order-1</c>.</summary>
    /// <param name="order">Number of Legendre coefficients (at least 1).</param>
    /// <param name="r">Relative delay in [0, 1]: 0 is the newest input, 1 the input <c>theta</c> steps ago.</param>
    /// <returns>A new vector of length <paramref name="order"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> is below 1, or <paramref name="r"/> is outside [0, 1] or NaN.</exception>
    public static double[] Coefficients(int order, double r)
    {
        MathsGuard.Order(order);
        MathsGuard.Delay(r);
        var c = new double[order];
        Fill(c, r);
        return c;
    }

    /// <summary>Decoding weights for several delays at once, one row per delay, so <c>Matrix · m_t</c> yields all the delayed estimates.</summary>
    /// <param name="order">Number of Legendre coefficients (at least 1).</param>
    /// <param name="r">Relative delays, each in [0, 1].</param>
    /// <returns>A new <c>[r.Count, order]</c> array whose row <c>k</c> is <see cref="Coefficients"/>(order, r[k]).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="r"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="order"/> is below 1, or some delay is outside [0, 1] or NaN.</exception>
    public static double[,] Matrix(int order, IReadOnlyList<double> r)
    {
        MathsGuard.Order(order);
        ArgumentNullException.ThrowIfNull(r);
        var m = new double[r.Count, order];
        var row = new double[order];
        for (var k = 0; k < r.Count; k++)
        {
            MathsGuard.Delay(r[k]);
            Fill(row, r[k]);
            for (var i = 0; i < order; i++)
            {
                m[k, i] = row[i];
            }
        }

        return m;
    }

    /// <summary>
    /// Bonnet's three-term recurrence (n+1) P_{n+1}(x) = (2n+1) x P_n(x) - n P_{n-1}(x) at x = 2r - 1: stable on
    /// [-1, 1] and exact to a few ulps, unlike expanding the shifted polynomials into their large alternating monomial coefficients.
    /// </summary>
    private static void Fill(Span<double> c, double r)
    {
        var x = 2 * r - 1;
        c[0] = 1;
        if (c.Length > 1)
        {
            c[1] = x;
        }

        for (var n = 1; n + 1 < c.Length; n++)
        {
            c[n + 1] = ((2 * n + 1) * x * c[n] - n * c[n - 1]) / (n + 1);
        }
    }
}
