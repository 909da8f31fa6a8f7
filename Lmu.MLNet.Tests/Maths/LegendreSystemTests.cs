using Lmu.MLNet.Maths;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Maths;

[TestClass]
public sealed class LegendreSystemTests
{
    [TestMethod]
    [DataRow(OracleFile.Committed)]
    [DataRow(OracleFile.Shared)]
    public void ContinuousMatricesEqualOracleExactly(string source)
    {
        // Entries are small integers, exactly representable, so any difference at all is a bug.
        var continuous = OracleFile.Load(source).GetProperty("continuous");
        var checkedOrders = 0;
        foreach (var entry in continuous.EnumerateObject())
        {
            var order = int.Parse(entry.Name, System.Globalization.CultureInfo.InvariantCulture);
            var expectedA = OracleFile.Matrix(entry.Value.GetProperty("A"));
            var expectedB = OracleFile.Vector(entry.Value.GetProperty("B"));

            Assert.AreEqual(0.0, Numeric.MaxAbsDiff(expectedA, LegendreSystem.ContinuousA(order)), $"{source}: A, order {order}");
            Assert.AreEqual(0.0, Numeric.MaxAbsDiff(expectedB, LegendreSystem.ContinuousB(order)), $"{source}: B, order {order}");
            checkedOrders++;
        }

        Assert.IsGreaterThanOrEqualTo(5, checkedOrders, $"the {source} oracle should list orders 1, 2, 3, 4 and 8");
    }

    [TestMethod]
    public void OrderThreeMatchesHandDerivedValues()
    {
        // From the formula by hand, independent of the oracle file so this runs even where shared/ is absent.
        double[,] expectedA = { { -1, -1, -1 }, { 3, -3, -3 }, { -5, 5, -5 } };
        double[] expectedB = { 1, -3, 5 };

        Assert.AreEqual(0.0, Numeric.MaxAbsDiff(expectedA, LegendreSystem.ContinuousA(3)));
        Assert.AreEqual(0.0, Numeric.MaxAbsDiff(expectedB, LegendreSystem.ContinuousB(3)));
    }
}
