using System.Text.Json;
using Lmu.MLNet.Maths;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Maths;

[TestClass]
public sealed class DiscreteLegendreSystemTests
{
    // The same bound for both oracles (committed and shared), both float64 from the same equations.
    // Oracle entries are O(1) (|Ad|, |Bd| <= 2 across all cases), so an absolute bound is also a relative one;
    // both sides are float64 with errors near 1e-15, leaving 1e-10 as a wide margin that still catches any formula slip.
    private const double OracleTolerance = 1e-10;

    // The hardest case asked for, shared by two tests because building it is the slowest step here (~0.3 s).
    private const int HardOrder = 256;
    private static readonly Lazy<DiscreteLegendreSystem> HardCase = new(() => DiscreteLegendreSystem.Create(HardOrder, 1, LmuDiscretizer.Zoh));

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    [DataRow(OracleFile.Committed)]
    [DataRow(OracleFile.Shared)]
    public void EveryDiscreteOracleCaseMatches(string source)
    {
        var cases = OracleFile.Load(source).GetProperty("discrete");
        var failures = new List<string>();
        var worst = new Dictionary<LmuDiscretizer, double> { [LmuDiscretizer.Zoh] = 0, [LmuDiscretizer.Euler] = 0 };
        foreach (var c in cases.EnumerateArray())
        {
            var (order, theta, method) = OracleKey.Read(c);
            var system = DiscreteLegendreSystem.Create(order, theta, method);
            var errA = Numeric.MaxAbsDiff(OracleFile.Matrix(c.GetProperty("Ad")), system.Ad);
            var errB = Numeric.MaxAbsDiff(OracleFile.Vector(c.GetProperty("Bd")), system.Bd);
            worst[method] = Math.Max(worst[method], Math.Max(errA, errB));
            if (!(errA <= OracleTolerance && errB <= OracleTolerance))
            {
                failures.Add($"order {order}, theta {theta}, {method}: |dAd| {errA:E2}, |dBd| {errB:E2}");
            }
        }

        TestContext.WriteLine($"max abs error vs the {source} oracle: ZOH {worst[LmuDiscretizer.Zoh]:E2}, Euler {worst[LmuDiscretizer.Euler]:E2}");
        Assert.IsEmpty(failures, string.Join("; ", failures));
        Assert.IsGreaterThanOrEqualTo(14, cases.GetArrayLength(), $"the {source} oracle should hold at least 14 discrete cases");
    }

    [TestMethod]
    public void PropertiesEchoInputsAndArraysAreDefensiveCopies()
    {
        var system = DiscreteLegendreSystem.Create(3, 2.5, LmuDiscretizer.Euler);
        Assert.AreEqual(3, system.Order);
        Assert.AreEqual(2.5, system.Theta);
        Assert.AreEqual(LmuDiscretizer.Euler, system.Method);

        // Euler is closed-form: Ad = I + A/theta, Bd = B/theta; A[0,0] = -1 and B[1] = -3.
        var ad = system.Ad;
        var bd = system.Bd;
        Assert.AreEqual(1 - 1 / 2.5, ad[0, 0], 1e-15);
        Assert.AreEqual(-3 / 2.5, bd[1], 1e-15);

        // Mutating what the getters return must not change the system (it is documented as immutable).
        ad[0, 0] = 42;
        bd[1] = 42;
        Assert.AreEqual(1 - 1 / 2.5, system.Ad[0, 0], 1e-15);
        Assert.AreEqual(-3 / 2.5, system.Bd[1], 1e-15);
    }

    [TestMethod]
    public void ZohOrderOneIsTheScalarExponential()
    {
        // Order 1: theta dm/dt = -m + u, so Ad = e^(-1/theta) and Bd = 1 - e^(-1/theta), independent of the oracle.
        foreach (var theta in new[] { 1.0, 7.0, 1000.0 })
        {
            var system = DiscreteLegendreSystem.Create(1, theta, LmuDiscretizer.Zoh);
            var decay = Math.Exp(-1 / theta);
            Assert.AreEqual(decay, system.Ad[0, 0], 1e-15, $"theta {theta}");
            Assert.AreEqual(1 - decay, system.Bd[0], 1e-15, $"theta {theta}");
        }
    }

    [TestMethod]
    public void ZohAndEulerConvergeAsThetaGrows()
    {
        // Both discretisations agree to first order in 1/theta: (Ad - I) and Bd differ by O(|A|/theta^2) while they
        // themselves are O(|A|/theta), so the relative difference of the increments shrinks like 1/theta.
        const int order = 8;
        var thetas = new[] { 100.0, 1000.0, 10000.0, 100000.0 };
        var relative = thetas.Select(theta => IncrementRelativeDifference(order, theta)).ToArray();
        TestContext.WriteLine("relative ZOH/Euler difference: " + string.Join(", ", relative.Select(r => r.ToString("E2", System.Globalization.CultureInfo.InvariantCulture))));

        // At theta = 10000 with |A| = order^2 = 64 the expected size is about |A| / (2 theta) = 3e-3; 1e-2 allows for the constant.
        Bound.Below(1e-2, relative[2], "theta = 10000");
        for (var k = 1; k < relative.Length; k++)
        {
            // Ten times the theta should give close to a tenth of the difference; demand at least a factor 5.
            Bound.Below(relative[k - 1] / 5, relative[k], $"theta {thetas[k - 1]} -> {thetas[k]}");
        }
    }

    [TestMethod]
    public void HighOrderSmallThetaZohSatisfiesTheBlockIdentity()
    {
        // Order 256 at theta 1 is the hardest case asked for (augmented 1-norm 65536, fourteen squarings). With
        // F = A/theta the exact ZOH pair obeys F Bd = (Ad - I) B / theta (the top-right block of F e^M = e^M F).
        // Each side sums 256 products as large as |F| |Bd| ~ 511 down to an O(1) value, so rounding alone reaches
        // ~1e-11 (1.6e-11 measured); 1e-9 keeps a wide margin, while a wrong block, index or scaling is an O(1) error.
        const int order = HardOrder;
        const double theta = 1;
        var system = HardCase.Value;
        var ad = system.Ad;
        var bd = system.Bd;
        var a = LegendreSystem.ContinuousA(order);
        var b = LegendreSystem.ContinuousB(order);

        var worst = 0.0;
        for (var i = 0; i < order; i++)
        {
            var lhs = 0.0;
            var rhs = -b[i] / theta;
            for (var j = 0; j < order; j++)
            {
                lhs += a[i, j] / theta * bd[j];
                rhs += ad[i, j] * b[j] / theta;
            }

            worst = Math.Max(worst, Math.Abs(lhs - rhs));
        }

        TestContext.WriteLine($"order 256, theta 1: max |F Bd - (Ad - I) B/theta| = {worst:E2}");
        Bound.Below(1e-9, worst);
        Assert.IsTrue(ad.Cast<double>().All(double.IsFinite) && bd.All(double.IsFinite), "all entries finite");
    }

    [TestMethod]
    public void HighOrderSmallThetaZohEqualsThreeStepsOfTheTripledWindow()
    {
        // exp(M) = exp(M/3)^3, and M/3 is the augmented matrix of the same order with theta tripled, so
        // Ad(1) = Ad(3)^3 and Bd(1) = (Ad(3)^2 + Ad(3) + I) Bd(3). The two sides take different scaling paths (14 vs
        // 12 halvings, different Padé arguments), so this checks the approximation itself, not just the bookkeeping.
        // The exponential's condition number is at least |M| = 65536, so float64 can only promise about
        // 65536 * 1.1e-16 ~ 1e-11 on these O(1) entries; 1e-10 leaves room for that and fails on a real approximation error.
        // Compared through matrix-vector products (pseudo-random probes for Ad, Horner's rule for Bd) to keep the
        // test at O(order^2) beyond the two discretisations.
        const int order = HardOrder;
        var one = HardCase.Value;
        var three = DiscreteLegendreSystem.Create(order, 3, LmuDiscretizer.Zoh);
        var ad1 = one.Ad;
        var ad3 = three.Ad;
        var bd3 = three.Bd;
        var random = new Random(20190101);
        var errA = 0.0;
        for (var probe = 0; probe < 8; probe++)
        {
            var x = Enumerable.Range(0, order).Select(_ => 2 * random.NextDouble() - 1).ToArray();
            errA = Math.Max(errA, Numeric.MaxAbsDiff(Apply(ad1, x), Apply(ad3, Apply(ad3, Apply(ad3, x)))));
        }

        // (Ad^2 + Ad + I) Bd = Bd + Ad (Bd + Ad Bd).
        var inner = Apply(ad3, bd3);
        for (var i = 0; i < order; i++)
        {
            inner[i] += bd3[i];
        }

        var composedBd = Apply(ad3, inner);
        for (var i = 0; i < order; i++)
        {
            composedBd[i] += bd3[i];
        }

        var errB = Numeric.MaxAbsDiff(one.Bd, composedBd);
        TestContext.WriteLine($"order 256, theta 1 vs three steps of theta 3: max |dAd x| over probes {errA:E2}, |dBd| {errB:E2}");
        Bound.Below(1e-10, errA);
        Bound.Below(1e-10, errB);
    }

    private static double IncrementRelativeDifference(int order, double theta)
    {
        var zoh = DiscreteLegendreSystem.Create(order, theta, LmuDiscretizer.Zoh);
        var euler = DiscreteLegendreSystem.Create(order, theta, LmuDiscretizer.Euler);

        // Compare Ad - I rather than Ad: both Ad tend to I, so their plain relative difference would vanish trivially.
        var eye = Numeric.Identity(order);
        var zohStep = Subtract(zoh.Ad, eye);
        var eulerStep = Subtract(euler.Ad, eye);
        var relA = Numeric.MaxAbsDiff(zohStep, eulerStep) / Numeric.MaxAbs(eulerStep);
        var relB = Numeric.MaxAbsDiff(zoh.Bd, euler.Bd) / euler.Bd.Max(Math.Abs);
        return Math.Max(relA, relB);
    }

    private static double[] Apply(double[,] m, double[] x)
    {
        var y = new double[x.Length];
        for (var i = 0; i < x.Length; i++)
        {
            var sum = 0.0;
            for (var j = 0; j < x.Length; j++)
            {
                sum += m[i, j] * x[j];
            }

            y[i] = sum;
        }

        return y;
    }

    private static double[,] Subtract(double[,] x, double[,] y)
    {
        var r = (double[,])x.Clone();
        for (var i = 0; i < r.GetLength(0); i++)
        {
            for (var j = 0; j < r.GetLength(1); j++)
            {
                r[i, j] -= y[i, j];
            }
        }

        return r;
    }
}
