namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Which windows of one series train and which validate, from the series' length and position alone, so that a
/// streaming pass can cut them without a list of every window. Window ends run every <c>stride</c> steps back from the
/// last end with a full horizon; the last <c>floor(n x fraction)</c> of a series' n windows validate. When every
/// series has exactly one window (the window layout), the last <c>floor(series x fraction)</c> series validate instead.
/// </summary>
internal sealed class ForecastWindowSplit
{
    private readonly int _window;
    private readonly int _horizon;
    private readonly int _stride;
    private readonly double _fraction;
    private readonly bool _oneEach;
    private readonly long _firstHeldSeries;

    /// <param name="window">Window length T.</param>
    /// <param name="horizon">Horizon H.</param>
    /// <param name="stride">Distance between consecutive window ends.</param>
    /// <param name="fraction">Validation fraction.</param>
    /// <param name="oneEach">Every series has exactly WindowSize + Horizon values (one window each).</param>
    /// <param name="seriesCount">Number of series (counts the held-out series when <paramref name="oneEach"/>).</param>
    public ForecastWindowSplit(int window, int horizon, int stride, double fraction, bool oneEach, long seriesCount)
    {
        _window = window;
        _horizon = horizon;
        _stride = stride;
        _fraction = fraction;
        _oneEach = oneEach;
        _firstHeldSeries = oneEach ? seriesCount - (long)Math.Floor(seriesCount * fraction) : long.MaxValue;
    }

    public int Stride => _stride;

    /// <summary>The training and validation windows of series <paramref name="index"/> of <paramref name="length"/> values, as (first end, count).</summary>
    public (Range Train, Range Validation) Of(long index, int length)
    {
        var last = length - _horizon - 1;
        var n = last >= _window - 1 ? ((last - (_window - 1)) / _stride) + 1 : 0;
        var first = last - ((n - 1) * _stride);
        if (_oneEach)
        {
            return index >= _firstHeldSeries ? (new Range(first, 0), new Range(first, 1)) : (new Range(first, 1), new Range(first, 0));
        }

        var held = (int)Math.Floor(n * _fraction);
        return (new Range(first, n - held), new Range(first + ((n - held) * _stride), held));
    }

    /// <summary>Window ends <c>First, First + stride, ...</c> (<see cref="Count"/> of them).</summary>
    internal readonly record struct Range(int First, int Count);
}
