namespace Lmu.MLNet.Forecasting;

/// <summary>Cuts one training window out of a series, scaled as the model will scale it at scoring time.</summary>
internal sealed class WindowScaler(int windowSize, int horizon, int channels, LmuForecastScaling scaling, double[] location, double[] scale, double floorUnit)
{
    public int WindowSize => windowSize;

    public int Horizon => horizon;

    public int Channels => channels;

    /// <summary>Writes the window ending at <paramref name="end"/> scaled (time-major [T*C]) and its scaled targets [H].</summary>
    public void Fill(ForecastSeries s, int end, Span<float> x, Span<float> y)
    {
        var start = end - windowSize + 1;
        var (a0, b0) = LmuForecastModel.TargetScaling(scaling, location[0], scale[0], floorUnit, s.Target.AsSpan(start, windowSize));
        for (var t = 0; t < windowSize; t++)
        {
            x[t * channels] = (float)((s.Target[start + t] - a0) / b0);
            for (var k = 1; k < channels; k++)
            {
                x[t * channels + k] = (float)((s.Covariates[k - 1][start + t] - location[k]) / scale[k]);
            }
        }

        for (var h = 0; h < horizon; h++)
        {
            y[h] = (float)((s.Target[end + 1 + h] - a0) / b0);
        }
    }
}
