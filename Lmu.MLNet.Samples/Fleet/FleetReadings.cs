using Lmu.MLNet.Orleans;

namespace Lmu.MLNet.Samples.Fleet;

/// <summary>Generated readings: a daily level per series with a weekly and a slower cycle, and the day of week.</summary>
internal static class FleetReadings
{
    public static SeriesObservation Reading(int series, long n)
    {
        var t = (double)n + 5 * (series % 97);
        var value = (float)(100 + 10 * (series % 17) + 30 * Math.Sin(t * 2 * Math.PI / 7) + 15 * Math.Sin(t * 0.05) + ((n * 7919 + series * 104729) % 13) * 0.37);
        return new SeriesObservation(n, value, [(float)((n + series) % 7)]);
    }
}
