using System.Globalization;
using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Tests.Maths;

/// <summary>Every rejected argument must raise the documented exception with the parameter name and the bad value in the message.</summary>
[TestClass]
public sealed class MathsValidationTests
{
    [TestMethod]
    [DataRow(0)]
    [DataRow(-7)]
    public void OrderBelowOneIsRejectedEverywhere(int order)
    {
        AssertOutOfRange("order", order.ToString(CultureInfo.InvariantCulture), () => LegendreSystem.ContinuousA(order));
        AssertOutOfRange("order", order.ToString(CultureInfo.InvariantCulture), () => LegendreSystem.ContinuousB(order));
        AssertOutOfRange("order", order.ToString(CultureInfo.InvariantCulture), () => DiscreteLegendreSystem.Create(order, 10, LmuDiscretizer.Zoh));
        AssertOutOfRange("order", order.ToString(CultureInfo.InvariantCulture), () => LegendreDecoder.Coefficients(order, 0.5));
        AssertOutOfRange("order", order.ToString(CultureInfo.InvariantCulture), () => LegendreDecoder.Matrix(order, new[] { 0.5 }));
    }

    [TestMethod]
    [DataRow(0.0, "0")]
    [DataRow(-2.5, "-2.5")]
    [DataRow(double.NaN, "NaN")]
    [DataRow(double.PositiveInfinity, "Infinity")]
    public void ThetaNotFinitePositiveIsRejected(double theta, string shown)
    {
        // The message formats theta with the invariant culture, so NaN and infinity appear as "NaN" and "Infinity".
        AssertOutOfRange("theta", shown, () => DiscreteLegendreSystem.Create(4, theta, LmuDiscretizer.Euler));
    }

    [TestMethod]
    public void UndeclaredMethodIsRejected()
    {
        AssertOutOfRange("method", "7", () => DiscreteLegendreSystem.Create(4, 10, (LmuDiscretizer)7));
    }

    [TestMethod]
    [DataRow(-0.25, "-0.25")]
    [DataRow(1.5, "1.5")]
    [DataRow(double.NaN, "NaN")]
    public void DelayOutsideUnitIntervalIsRejected(double r, string shown)
    {
        AssertOutOfRange("r", shown, () => LegendreDecoder.Coefficients(4, r));
        AssertOutOfRange("r", shown, () => LegendreDecoder.Matrix(4, new[] { 0.0, r }));
    }

    [TestMethod]
    public void NegativeLengthIsRejected()
    {
        var system = DiscreteLegendreSystem.Create(2, 3, LmuDiscretizer.Zoh);
        AssertOutOfRange("length", "-1", () => system.ImpulseResponse(-1));
    }

    [TestMethod]
    public void BadExponentialInputsAreRejected()
    {
        Assert.ThrowsExactly<ArgumentNullException>(() => MatrixExponential.Exp(null!));
        var notSquare = Assert.ThrowsExactly<ArgumentException>(() => MatrixExponential.Exp(new double[2, 3]));
        Assert.Contains("2 x 3", notSquare.Message);
        var nan = Assert.ThrowsExactly<ArgumentException>(() => MatrixExponential.Exp(new[,] { { 1, double.NaN }, { 0, 1 } }));
        Assert.Contains("NaN", nan.Message);
        Assert.ThrowsExactly<ArgumentNullException>(() => LegendreDecoder.Matrix(3, null!));
    }

    private static void AssertOutOfRange(string parameter, string value, Action action)
    {
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(action);
        Assert.AreEqual(parameter, ex.ParamName);
        Assert.Contains(parameter, ex.Message);
        Assert.Contains(value, ex.Message);
    }
}
