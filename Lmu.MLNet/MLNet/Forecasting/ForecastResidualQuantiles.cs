using Lmu.MLNet.Modules;
using TorchSharp;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// The bounds' offsets: per horizon step, the empirical quantiles (linear interpolation between order statistics) of
/// the scaled residuals y - f over a set of windows, widened to reach 0 so that the bounds always hold the forecast. Exact up to <see cref="MaxWindowsFor"/> windows; beyond that over a
/// uniform random sample of that many windows (reservoir sampling, seeded), so that memory stays bounded on data of
/// any size.
/// </summary>
internal static class ForecastResidualQuantiles
{
    /// <summary>Residual vectors kept: 2,000,000 values (16 MB) over all horizon steps, at least 1,000 windows.</summary>
    public static int MaxWindowsFor(int horizon) => Math.Max(1000, 2_000_000 / horizon);

    public static (double[] Lower, double[] Upper) Compute(LmuNetwork network, ForecastWindowSource windows, double level, int seed)
    {
        var h = windows.Horizon;
        var cap = MaxWindowsFor(h);
        var residuals = Enumerable.Range(0, h).Select(_ => new List<double>((int)Math.Min(windows.Count, cap))).ToArray();
        var random = new Random(seed);
        long seen = 0;
        using (torch.no_grad())
        {
            foreach (var batch in windows.InOrder(256).Batches(0))
            {
                using var b = batch;
                using var scope = torch.NewDisposeScope();
                var predicted = network.forward(b.Features).data<float>().ToArray();
                var actual = b.Target.data<float>().ToArray();
                for (var row = 0; row < actual.Length / h; row++, seen++)
                {
                    // Reservoir sampling (Vitter's algorithm R): every window is kept with probability cap / seen.
                    var slot = seen < cap ? -1 : random.NextInt64(seen + 1);
                    if (slot >= cap)
                    {
                        continue;
                    }

                    for (var k = 0; k < h; k++)
                    {
                        double r = actual[(row * h) + k] - predicted[(row * h) + k];
                        if (slot < 0)
                        {
                            residuals[k].Add(r);
                        }
                        else
                        {
                            residuals[k][(int)slot] = r;
                        }
                    }
                }
            }
        }

        var lower = new double[h];
        var upper = new double[h];
        for (var k = 0; k < h; k++)
        {
            (lower[k], upper[k]) = Offsets(residuals[k].Order().ToArray(), level);
        }

        return (lower, upper);
    }

    /// <summary>
    /// The (1 - level) / 2 and (1 + level) / 2 quantiles of one step's sorted residuals, widened to reach 0: when the
    /// residuals lean to one side (an under-trained model on a trend), both quantiles have one sign, and the bounds would
    /// leave the forecast outside its own interval (QA found it at every step after 10 epochs). Widening only raises the
    /// interval's coverage.
    /// </summary>
    internal static (double Lower, double Upper) Offsets(double[] sorted, double level) =>
        (Math.Min(0, Quantile(sorted, (1 - level) / 2)), Math.Max(0, Quantile(sorted, (1 + level) / 2)));

    private static double Quantile(double[] sorted, double p)
    {
        var pos = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(pos);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
    }
}
