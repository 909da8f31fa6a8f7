namespace Lmu.MLNet.Samples.Serving;

/// <summary>How many series <c>serve --series</c> holds, and for how long a quiet one is kept (see <see cref="SeriesDirectory"/>).</summary>
/// <param name="MaxSeries">At most this many series (<c>--series-max</c>); 0 for no count limit (memory still bounds them).</param>
/// <param name="Idle">A series with no reading applied for this long is forgotten (<c>--series-idle</c>); zero keeps it.</param>
internal sealed record SeriesLimits(int MaxSeries, TimeSpan Idle)
{
    /// <summary>
    /// The default of <c>--series-idle</c>, minutes: 0, series are kept. Any default would forget live series whose
    /// readings come less often (a day's limit forgets a daily series between two readings, and its sender must then
    /// start it over at number 1); the memory limit on new series keeps the process alive meanwhile.
    /// </summary>
    public const int DefaultIdleMinutes = 0;
}
