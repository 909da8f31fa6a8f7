using Lmu.MLNet.Maths;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Maths;

[TestClass]
public sealed class ImpulseResponseTests
{
    // The same bound for both oracles (committed and shared): each is float64 from the same equations, so neither
    // needs more room than the other. |H| <= 0.4 in every oracle case and powers of a contractive Ad do not amplify the ~1e-15 discretisation
    // error, so 1e-10 absolute is a wide margin over float64 rounding yet far below any off-by-one-step error.
    private const double OracleTolerance = 1e-10;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(OracleFile.Committed)]
    [DataRow(OracleFile.Shared)]
    public void EveryImpulseOracleCaseMatches(string source)
    {
        var cases = OracleFile.Load(source).GetProperty("impulse");
        var failures = new List<string>();
        var worst = 0.0;
        foreach (var c in cases.EnumerateArray())
        {
            var (order, theta, method) = OracleKey.Read(c);
            var expected = OracleFile.Matrix(c.GetProperty("H"));
            var actual = DiscreteLegendreSystem.Create(order, theta, method).ImpulseResponse(expected.GetLength(0));
            var err = Numeric.MaxAbsDiff(expected, actual);
            worst = Math.Max(worst, err);
            if (!(err <= OracleTolerance))
            {
                failures.Add($"order {order}, theta {theta}, {method}: {err:E2}");
            }
        }

        TestContext.WriteLine($"max abs impulse-response error vs the {source} oracle: {worst:E2}");
        Assert.IsEmpty(failures, string.Join("; ", failures));
        Assert.IsGreaterThanOrEqualTo(3, cases.GetArrayLength(), $"the {source} oracle should hold at least 3 impulse cases");
    }

    [TestMethod]
    public void FirstRowIsBdAndEachRowIsAdTimesThePrevious()
    {
        var system = DiscreteLegendreSystem.Create(4, 6, LmuDiscretizer.Zoh);
        var ad = system.Ad;
        var bd = system.Bd;
        var h = system.ImpulseResponse(5);

        Assert.AreEqual(5, h.GetLength(0));
        Assert.AreEqual(4, h.GetLength(1));
        for (var i = 0; i < 4; i++)
        {
            // No extra delay: the impulse is in the memory at tau = 0, bit for bit.
            Assert.AreEqual(bd[i], h[0, i]);
        }

        for (var tau = 1; tau < 5; tau++)
        {
            for (var i = 0; i < 4; i++)
            {
                var expected = 0.0;
                for (var j = 0; j < 4; j++)
                {
                    expected += ad[i, j] * h[tau - 1, j];
                }

                Assert.AreEqual(expected, h[tau, i], 1e-15, $"tau {tau}, i {i}");
            }
        }
    }

    [TestMethod]
    public void ZeroLengthGivesAnEmptyArrayWithOrderColumns()
    {
        var h = DiscreteLegendreSystem.Create(3, 2, LmuDiscretizer.Euler).ImpulseResponse(0);
        Assert.AreEqual(0, h.GetLength(0));
        Assert.AreEqual(3, h.GetLength(1));
    }

    [TestMethod]
    public void PowerRowsEqualTheTextbookRecurrenceBitForBit()
    {
        // A general matrix (not the Legendre one) of an order no vector width divides, 20 rows of which 15 are kept:
        // the vectorised column form must give the very bits of next[i] = sum_j a[i, j] v[j] summed in j order.
        const int N = 13, Steps = 20, Kept = 15;
        var random = new Random(9);
        var a = Enumerable.Range(0, N * N).Select(_ => (random.NextDouble() - 0.5) * 0.6).ToArray();
        var v = Enumerable.Range(0, N).Select(_ => random.NextDouble() - 0.5).ToArray();
        var rows = SquareMatrix.PowerRows(a, v, N, Steps, Kept);
        var current = (double[])v.Clone();
        for (var t = 0; t < Steps; t++)
        {
            for (var i = 0; i < N; i++)
            {
                var expected = t < Kept ? current[i] : 0.0;
                Assert.AreEqual(BitConverter.DoubleToInt64Bits(expected), BitConverter.DoubleToInt64Bits(rows[t * N + i]), $"row {t}, column {i}: {rows[t * N + i]:R} against {expected:R}");
            }

            var next = new double[N];
            for (var i = 0; i < N; i++)
            {
                var sum = 0.0;
                for (var j = 0; j < N; j++)
                {
                    sum += a[i * N + j] * current[j];
                }

                next[i] = sum;
            }

            current = next;
        }
    }
}
