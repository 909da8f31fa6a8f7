using System.Numerics;

namespace Lmu.MLNet.Maths;

/// <summary>
/// Eigenvalues of a real square matrix in float64: balancing (rows and columns scaled by powers of two, so no rounding),
/// reduction to upper Hessenberg form by Householder reflections, then Francis double-shift QR steps with deflation
/// (Golub and Van Loan, Matrix Computations, 4th ed., sections 7.4-7.5). Values only, no vectors, so each reflection of
/// a QR step is applied to the active block alone. About 10 n^3 flops. The balancing does not first isolate zero rows
/// and columns as LAPACK's does, so sparse matrices with several zero eigenvalues lose digits (4e-3 of the norm on one
/// 15 x 15 in review); the LMU's A, its one user, is dense.
/// </summary>
internal static class RealEigenvalues
{
    private const double Epsilon = 2.220446049250313e-16;

    /// <summary>The n eigenvalues of the row-major n x n <paramref name="matrix"/> (complex ones in conjugate pairs), in no particular order.</summary>
    public static Complex[] Of(double[] matrix, int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        ArgumentOutOfRangeException.ThrowIfNotEqual(matrix.Length, n * n);
        // NaN or an infinity never balances (every comparison with it is false): the loop below would not end.
        if (!matrix.All(double.IsFinite)) throw new ArgumentException("The matrix holds NaN or an infinity.", nameof(matrix));
        var h = (double[])matrix.Clone();
        Balance(h, n);
        ToHessenberg(h, n);
        return QrIteration(h, n);
    }

    /// <summary>Parlett and Reinsch's balancing: a similarity by a diagonal of powers of two that evens out row and column norms.</summary>
    private static void Balance(double[] h, int n)
    {
        bool changed = true;
        while (changed)
        {
            changed = false;
            for (int i = 0; i < n; i++)
            {
                double c = 0, r = 0;
                for (int j = 0; j < n; j++)
                {
                    if (j == i) continue;
                    c += Math.Abs(h[j * n + i]);
                    r += Math.Abs(h[i * n + j]);
                }

                if (c == 0 || r == 0) continue;
                double f = 1, s = c + r, g = r / 2;
                while (c < g)
                {
                    f *= 2;
                    c *= 4;
                }

                g = r * 2;
                while (c > g)
                {
                    f /= 2;
                    c /= 4;
                }

                if ((c + r) / f >= 0.95 * s) continue;
                changed = true;
                for (int j = 0; j < n; j++)
                {
                    h[i * n + j] /= f;
                    h[j * n + i] *= f;
                }
            }
        }
    }

    private static void ToHessenberg(double[] h, int n)
    {
        var v = new double[n];
        for (int k = 0; k < n - 2; k++)
        {
            int m = n - k - 1;
            for (int i = 0; i < m; i++) v[i] = h[(k + 1 + i) * n + k];
            double beta = Reflector(v.AsSpan(0, m));
            if (beta == 0) continue;
            for (int j = k; j < n; j++)
            {
                double s = 0;
                for (int i = 0; i < m; i++) s += v[i] * h[(k + 1 + i) * n + j];
                s *= beta;
                for (int i = 0; i < m; i++) h[(k + 1 + i) * n + j] -= s * v[i];
            }

            for (int r = 0; r < n; r++)
            {
                double s = 0;
                for (int i = 0; i < m; i++) s += h[r * n + k + 1 + i] * v[i];
                s *= beta;
                for (int i = 0; i < m; i++) h[r * n + k + 1 + i] -= s * v[i];
            }

            for (int i = k + 2; i < n; i++) h[i * n + k] = 0;
        }
    }

    private static Complex[] QrIteration(double[] h, int n)
    {
        var values = new List<Complex>(n);
        double norm = 0;
        foreach (var x in h) norm += Math.Abs(x);
        int hi = n - 1, sinceDeflation = 0, steps = 0;
        while (hi >= 0)
        {
            int l = hi;
            for (; l > 0; l--)
            {
                double s = Math.Abs(h[(l - 1) * n + l - 1]) + Math.Abs(h[l * n + l]);
                if (Math.Abs(h[l * n + l - 1]) <= Epsilon * (s == 0 ? norm : s))
                {
                    h[l * n + l - 1] = 0;
                    break;
                }
            }

            if (l == hi)
            {
                values.Add(h[hi * n + hi]);
                hi--;
                sinceDeflation = 0;
                continue;
            }

            if (l == hi - 1)
            {
                TwoByTwo(h[(hi - 1) * n + hi - 1], h[(hi - 1) * n + hi], h[hi * n + hi - 1], h[hi * n + hi], values);
                hi -= 2;
                sinceDeflation = 0;
                continue;
            }

            if (++steps > 30 * n) throw new ArithmeticException($"The QR iteration did not converge in {30 * n} steps for a {n} x {n} matrix.");
            double sum, product;
            if (++sinceDeflation % 10 == 0)
            {
                // An exceptional shift breaks the cycles the Wilkinson-like shift can fall into.
                double e = Math.Abs(h[hi * n + hi - 1]) + Math.Abs(h[(hi - 1) * n + hi - 2]);
                (sum, product) = (1.5 * e, e * e);
            }
            else
            {
                double a = h[(hi - 1) * n + hi - 1], b = h[(hi - 1) * n + hi], c = h[hi * n + hi - 1], d = h[hi * n + hi];
                (sum, product) = (a + d, a * d - b * c);
            }

            FrancisStep(h, n, l, hi, sum, product);
        }

        return [.. values];
    }

    /// <summary>One implicit double-shift step on the unreduced block [l, hi] with the shifts' sum and product.</summary>
    private static void FrancisStep(double[] h, int n, int l, int hi, double sum, double product)
    {
        Span<double> v = stackalloc double[3];
        double x = h[l * n + l] * h[l * n + l] + h[l * n + l + 1] * h[(l + 1) * n + l] - sum * h[l * n + l] + product;
        double y = h[(l + 1) * n + l] * (h[l * n + l] + h[(l + 1) * n + l + 1] - sum);
        double z = h[(l + 1) * n + l] * h[(l + 2) * n + l + 1];
        for (int g = l; g <= hi - 2; g++)
        {
            // The reflection acts on rows (and columns) g, g+1, g+2, chasing the bulge down the subdiagonal.
            v[0] = x;
            v[1] = y;
            v[2] = z;
            double beta = Reflector(v);
            if (beta != 0)
            {
                for (int j = Math.Max(l, g - 1); j <= hi; j++)
                {
                    double s = (v[0] * h[g * n + j] + v[1] * h[(g + 1) * n + j] + v[2] * h[(g + 2) * n + j]) * beta;
                    h[g * n + j] -= s * v[0];
                    h[(g + 1) * n + j] -= s * v[1];
                    h[(g + 2) * n + j] -= s * v[2];
                }

                for (int r = l; r <= Math.Min(g + 3, hi); r++)
                {
                    double s = (h[r * n + g] * v[0] + h[r * n + g + 1] * v[1] + h[r * n + g + 2] * v[2]) * beta;
                    h[r * n + g] -= s * v[0];
                    h[r * n + g + 1] -= s * v[1];
                    h[r * n + g + 2] -= s * v[2];
                }
            }

            x = h[(g + 1) * n + g];
            y = h[(g + 2) * n + g];
            if (g + 3 <= hi) z = h[(g + 3) * n + g];
        }

        // The last reflection: rows and columns hi - 1, hi.
        v[0] = x;
        v[1] = y;
        double last = Reflector(v[..2]);
        if (last == 0) return;
        for (int j = hi - 2; j <= hi; j++)
        {
            double s = (v[0] * h[(hi - 1) * n + j] + v[1] * h[hi * n + j]) * last;
            h[(hi - 1) * n + j] -= s * v[0];
            h[hi * n + j] -= s * v[1];
        }

        for (int r = l; r <= hi; r++)
        {
            double s = (h[r * n + hi - 1] * v[0] + h[r * n + hi] * v[1]) * last;
            h[r * n + hi - 1] -= s * v[0];
            h[r * n + hi] -= s * v[1];
        }
    }

    /// <summary>Turns x into the Householder vector v with (I - beta v v^T) x = alpha e1; returns beta (0: nothing to reflect).</summary>
    private static double Reflector(Span<double> x)
    {
        double norm = 0;
        foreach (var e in x) norm += e * e;
        norm = Math.Sqrt(norm);
        if (norm == 0) return 0;
        double alpha = x[0] > 0 ? -norm : norm;
        x[0] -= alpha;
        double vv = 0;
        foreach (var e in x) vv += e * e;
        return vv == 0 ? 0 : 2 / vv;
    }

    private static void TwoByTwo(double a, double b, double c, double d, List<Complex> values)
    {
        double mid = (a + d) / 2, p = (a - d) / 2, disc = p * p + b * c;
        if (disc >= 0)
        {
            // The larger root by addition, the other from the determinant: no cancellation.
            double root = mid + (p >= 0 ? 1 : -1) * Math.Sqrt(disc);
            values.Add(root);
            values.Add(root == 0 ? mid - (root - mid) : (a * d - b * c) / root);
        }
        else
        {
            double im = Math.Sqrt(-disc);
            values.Add(new Complex(mid, im));
            values.Add(new Complex(mid, -im));
        }
    }
}
