using System.Globalization;
using System.Text.RegularExpressions;
using Lmu.MLNet.Maths;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Maths;

[TestClass]
public sealed partial class LegendreDecoderTests
{
    // Both oracles (committed and shared) get the same bounds: each is float64 from the same equations.
    // Shifted Legendre values lie in [-1, 1] and the recurrence loses a few ulps per degree, so 1e-10 is loose.
    private const double CoefficientTolerance = 1e-10;

    // The oracle's experiment error was computed in float64 from the same equations; ours differs only by rounding
    // (~1e-15). 1e-9 lets rounding through but not a one-step misalignment, which changes the error by >= 1e-4.
    private const double ExperimentMargin = 1e-9;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(OracleFile.Committed)]
    [DataRow(OracleFile.Shared)]
    public void CoefficientsMatchOracle(string source)
    {
        var cases = OracleFile.Load(source).GetProperty("decoders");
        var worst = 0.0;
        foreach (var c in cases.EnumerateArray())
        {
            var order = c.GetProperty("order").GetInt32();
            var r = c.GetProperty("r").GetDouble();
            var err = Numeric.MaxAbsDiff(OracleFile.Vector(c.GetProperty("coefficients")), LegendreDecoder.Coefficients(order, r));
            worst = Math.Max(worst, err);
            Bound.AtMost(CoefficientTolerance, err, $"{source}: order {order}, r {r}");
        }

        TestContext.WriteLine($"max abs decoder-coefficient error vs the {source} oracle: {worst:E2}");
        Assert.IsGreaterThanOrEqualTo(5, cases.GetArrayLength(), $"the {source} oracle should hold at least 5 decoder cases");
    }

    [TestMethod]
    [DataRow(OracleFile.Committed)]
    [DataRow(OracleFile.Shared)]
    public void DelayedSineIsRecoveredAsWellAsByTheOracle(string source)
    {
        // Each case's "signal" reads like "u[t]=sin(2*pi*t/250), t=0..999" (parsed below, so a changed period or length is
        // followed and an unknown signal fails loudly): drive the memory m_t = Ad m_{t-1} + Bd u_t
        // from m_{-1} = 0 (ZOH, the paper's discretisation), decode u(t - r*theta) and take the worst error for
        // t >= 400, after the start-up transient; the target sin(2*pi*(t - r*theta)/period) is u at t - r*theta.
        var cases = OracleFile.Load(source).GetProperty("decoders");
        foreach (var c in cases.EnumerateArray())
        {
            var signal = c.GetProperty("signal").GetString() ?? string.Empty;
            var match = SignalPattern().Match(signal);
            Assert.IsTrue(match.Success, $"unrecognised oracle signal '{signal}'; teach this test the new signal");
            var period = double.Parse(match.Groups["period"].Value, CultureInfo.InvariantCulture);
            var steps = int.Parse(match.Groups["last"].Value, CultureInfo.InvariantCulture) + 1;
            var order = c.GetProperty("order").GetInt32();
            var theta = c.GetProperty("theta").GetDouble();
            var r = c.GetProperty("r").GetDouble();
            var oracleError = c.GetProperty("max_abs_error_t>=400").GetDouble();

            var error = DecodeSineError(order, theta, r, period, steps, skip: 400);
            TestContext.WriteLine($"{source}: order {order}, theta {theta}, r {r}: max error {error:E6} (oracle {oracleError:E6})");
            Bound.AtMost(oracleError + ExperimentMargin, error, $"{source}: order {order}, theta {theta}, r {r}");
        }
    }

    [TestMethod]
    public void KnownValuesAtEndsAndMiddle()
    {
        // P_i(2r-1): at r = 1 every polynomial is 1, at r = 0 they alternate (-1)^i, and at r = 1/2 the odd ones vanish
        // while P_2(0) = -1/2 and P_4(0) = 3/8.
        var one = LegendreDecoder.Coefficients(5, 1);
        var zero = LegendreDecoder.Coefficients(5, 0);
        var half = LegendreDecoder.Coefficients(5, 0.5);
        for (var i = 0; i < 5; i++)
        {
            Assert.AreEqual(1.0, one[i], 1e-15, $"r = 1, i {i}");
            Assert.AreEqual(i % 2 == 0 ? 1.0 : -1.0, zero[i], 1e-15, $"r = 0, i {i}");
        }

        double[] expectedHalf = { 1, 0, -0.5, 0, 0.375 };
        Assert.AreEqual(0.0, Numeric.MaxAbsDiff(expectedHalf, half), 1e-15);
    }

    [TestMethod]
    public void MatrixRowsEqualCoefficients()
    {
        var delays = new[] { 0.0, 0.3, 1.0 };
        var m = LegendreDecoder.Matrix(6, delays);
        Assert.AreEqual(3, m.GetLength(0));
        Assert.AreEqual(6, m.GetLength(1));
        for (var k = 0; k < delays.Length; k++)
        {
            var row = LegendreDecoder.Coefficients(6, delays[k]);
            for (var i = 0; i < 6; i++)
            {
                Assert.AreEqual(row[i], m[k, i], $"delay {delays[k]}, i {i}");
            }
        }

        Assert.AreEqual(0, LegendreDecoder.Matrix(6, Array.Empty<double>()).GetLength(0));
    }

    [GeneratedRegex(@"^u\[t\]=sin\(2\*pi\*t/(?<period>[0-9.]+)\), t=0\.\.(?<last>[0-9]+)$")]
    private static partial Regex SignalPattern();

    private static double DecodeSineError(int order, double theta, double r, double period, int steps, int skip)
    {
        var system = DiscreteLegendreSystem.Create(order, theta, LmuDiscretizer.Zoh);
        var ad = system.Ad;
        var bd = system.Bd;
        var decoder = LegendreDecoder.Coefficients(order, r);
        var m = new double[order];
        var next = new double[order];
        var worst = 0.0;
        for (var t = 0; t < steps; t++)
        {
            var u = Math.Sin(2 * Math.PI * t / period);
            for (var i = 0; i < order; i++)
            {
                var sum = bd[i] * u;
                for (var j = 0; j < order; j++)
                {
                    sum += ad[i, j] * m[j];
                }

                next[i] = sum;
            }

            (m, next) = (next, m);
            if (t < skip)
            {
                continue;
            }

            var estimate = 0.0;
            for (var i = 0; i < order; i++)
            {
                estimate += decoder[i] * m[i];
            }

            worst = Math.Max(worst, Math.Abs(estimate - Math.Sin(2 * Math.PI * (t - r * theta) / period)));
        }

        return worst;
    }
}
