namespace Lmu.MLNet.Tests.Maths;

/// <summary>Error measures shared by the maths tests.</summary>
internal static class Numeric
{
    /// <summary>Largest absolute entrywise difference; the shapes must agree.</summary>
    internal static double MaxAbsDiff(double[,] expected, double[,] actual)
    {
        Assert.AreEqual(expected.GetLength(0), actual.GetLength(0), "row count");
        Assert.AreEqual(expected.GetLength(1), actual.GetLength(1), "column count");
        var max = 0.0;
        for (var i = 0; i < expected.GetLength(0); i++)
        {
            for (var j = 0; j < expected.GetLength(1); j++)
            {
                // Max of NaN would be lost by Math.Max's argument order, so make NaN an infinite error.
                var d = Math.Abs(expected[i, j] - actual[i, j]);
                max = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(max, d);
            }
        }

        return max;
    }

    /// <summary>Largest absolute entrywise difference of two vectors of equal length.</summary>
    internal static double MaxAbsDiff(IReadOnlyList<double> expected, IReadOnlyList<double> actual)
    {
        Assert.HasCount(expected.Count, actual);
        var max = 0.0;
        for (var i = 0; i < expected.Count; i++)
        {
            var d = Math.Abs(expected[i] - actual[i]);
            max = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(max, d);
        }

        return max;
    }

    /// <summary>Largest absolute entry.</summary>
    internal static double MaxAbs(double[,] m)
    {
        var max = 0.0;
        foreach (var v in m)
        {
            max = Math.Max(max, Math.Abs(v));
        }

        return max;
    }

    /// <summary>Matrix product of rectangular arrays.</summary>
    internal static double[,] Multiply(double[,] a, double[,] b)
    {
        var n = a.GetLength(0);
        var k = a.GetLength(1);
        var m = b.GetLength(1);
        Assert.AreEqual(k, b.GetLength(0), "inner dimensions");
        var c = new double[n, m];
        for (var i = 0; i < n; i++)
        {
            for (var p = 0; p < k; p++)
            {
                for (var j = 0; j < m; j++)
                {
                    c[i, j] += a[i, p] * b[p, j];
                }
            }
        }

        return c;
    }

    /// <summary>The n x n identity.</summary>
    internal static double[,] Identity(int n)
    {
        var eye = new double[n, n];
        for (var i = 0; i < n; i++)
        {
            eye[i, i] = 1;
        }

        return eye;
    }
}
