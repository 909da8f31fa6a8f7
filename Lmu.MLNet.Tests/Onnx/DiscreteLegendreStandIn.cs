namespace Lmu.MLNet.Tests.Onnx;

/// <summary>
/// TEST-ONLY STAND-IN, to be replaced by Lmu.MLNet.Maths.DiscreteLegendreSystem.Create(order, theta, discretizer)
/// once that API is merged. Float64 Ad/Bd of the Legendre delay system theta dm/dt = A m + B u with
/// A[i,j] = (2i+1)(-1 if i &lt; j else (-1)^(i-j+1)), B[i] = (2i+1)(-1)^i, dt = 1:
/// ZOH Ad = expm(A/theta), Bd = A^-1 (Ad - I) B; Euler Ad = I + A/theta, Bd = B/theta.
/// expm is scaling-and-squaring with a Taylor series: ample for the small orders the tests use.
/// </summary>
internal static class DiscreteLegendreStandIn
{
    /// <summary>Row-major Ad [q*q] and Bd [q].</summary>
    public static (double[] Ad, double[] Bd) Create(int q, double theta, bool zoh)
    {
        var a = new double[q * q];
        var b = new double[q];
        for (var i = 0; i < q; i++)
        {
            b[i] = (2 * i + 1) * (i % 2 == 0 ? 1.0 : -1.0);
            for (var j = 0; j < q; j++)
            {
                a[i * q + j] = (2 * i + 1) * (i < j ? -1.0 : ((i - j + 1) % 2 == 0 ? 1.0 : -1.0));
            }
        }

        if (!zoh)
        {
            var ad = new double[q * q];
            for (var k = 0; k < q * q; k++)
            {
                ad[k] = a[k] / theta + (k / q == k % q ? 1 : 0);
            }

            return (ad, b.Select(v => v / theta).ToArray());
        }

        var adz = Expm(a.Select(v => v / theta).ToArray(), q);
        var rhs = new double[q];
        for (var i = 0; i < q; i++)
        {
            for (var j = 0; j < q; j++)
            {
                rhs[i] += (adz[i * q + j] - (i == j ? 1 : 0)) * b[j];
            }
        }

        return (adz, Solve(a, rhs, q));
    }

    private static double[] Expm(double[] m, int q)
    {
        var norm = m.Max(Math.Abs) * q;
        var squarings = Math.Max(0, (int)Math.Ceiling(Math.Log2(norm / 0.25)));
        var scaled = m.Select(v => v / Math.Pow(2, squarings)).ToArray();
        var result = Identity(q);
        var term = Identity(q);
        for (var k = 1; k <= 20; k++)
        {
            term = Mul(term, scaled, q).Select(v => v / k).ToArray();
            for (var i = 0; i < q * q; i++)
            {
                result[i] += term[i];
            }
        }

        for (var s = 0; s < squarings; s++)
        {
            result = Mul(result, result, q);
        }

        return result;
    }

    private static double[] Identity(int q)
    {
        var r = new double[q * q];
        for (var i = 0; i < q; i++)
        {
            r[i * q + i] = 1;
        }

        return r;
    }

    private static double[] Mul(double[] x, double[] y, int q)
    {
        var r = new double[q * q];
        for (var i = 0; i < q; i++)
        {
            for (var k = 0; k < q; k++)
            {
                for (var j = 0; j < q; j++)
                {
                    r[i * q + j] += x[i * q + k] * y[k * q + j];
                }
            }
        }

        return r;
    }

    // Gaussian elimination with partial pivoting.
    private static double[] Solve(double[] a0, double[] b0, int q)
    {
        var a = (double[])a0.Clone();
        var b = (double[])b0.Clone();
        for (var c = 0; c < q; c++)
        {
            var p = Enumerable.Range(c, q - c).MaxBy(r => Math.Abs(a[r * q + c]));
            for (var j = 0; j < q; j++)
            {
                (a[c * q + j], a[p * q + j]) = (a[p * q + j], a[c * q + j]);
            }

            (b[c], b[p]) = (b[p], b[c]);
            for (var r = c + 1; r < q; r++)
            {
                var f = a[r * q + c] / a[c * q + c];
                for (var j = c; j < q; j++)
                {
                    a[r * q + j] -= f * a[c * q + j];
                }

                b[r] -= f * b[c];
            }
        }

        var x = new double[q];
        for (var r = q - 1; r >= 0; r--)
        {
            var s = b[r];
            for (var j = r + 1; j < q; j++)
            {
                s -= a[r * q + j] * x[j];
            }

            x[r] = s / a[r * q + r];
        }

        return x;
    }
}
