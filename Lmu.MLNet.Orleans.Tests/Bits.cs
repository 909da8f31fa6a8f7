namespace Lmu.MLNet.Orleans.Tests;

internal static class Bits
{
    /// <summary>Asserts two float arrays are equal bit for bit (both null counts as equal).</summary>
    public static void AreEqual(float[]? expected, float[]? actual, string what)
    {
        if (expected is null || actual is null)
        {
            Assert.AreEqual(expected is null, actual is null, $"{what}: one is null");
            return;
        }

        Assert.AreEqual(expected.Length, actual.Length, $"{what}: length");
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.AreEqual(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(actual[i]), $"{what}[{i}]: {expected[i]:R} vs {actual[i]:R}");
        }
    }

    public static void AreEqual(LmuForecast? expected, SeriesForecastResult actual, string what)
    {
        Bits.AreEqual(expected?.Forecast, actual.Forecast, what + " forecast");
        Bits.AreEqual(expected?.LowerBound, actual.Lower, what + " lower");
        Bits.AreEqual(expected?.UpperBound, actual.Upper, what + " upper");
    }
}
