namespace Lmu.MLNet.Onnx;

/// <summary>
/// The impulse response of the discrete Legendre memory, H[tau] = Ad^tau Bd (tau = 0 is the current step), which
/// makes a feed-forward memory a fixed convolution of its input: m_{T-1} = sum_t H[T-1-t] u_t.
/// </summary>
internal static class LmuImpulseResponse
{
    /// <summary>H as float64, row-major [steps, order].</summary>
    /// <param name="ad">Ad, row-major [order, order].</param>
    /// <param name="bd">Bd [order].</param>
    /// <param name="steps">Number of lags.</param>
    /// <param name="truncation">Lags kept (0 = all): rows from it on are zero (<see cref="Network.LmuLayerSpec.ImpulseTruncation"/>).</param>
    public static double[] Compute(double[] ad, double[] bd, int steps, int truncation = 0)
    {
        var q = bd.Length;
        var h = new double[steps * q];
        var v = (double[])bd.Clone();
        var next = new double[q];
        var kept = truncation > 0 ? Math.Min(truncation, steps) : steps;
        for (var tau = 0; tau < kept; tau++)
        {
            Array.Copy(v, 0, h, tau * q, q);
            for (var i = 0; i < q; i++)
            {
                double s = 0;
                for (var j = 0; j < q; j++)
                {
                    s += ad[i * q + j] * v[j];
                }

                next[i] = s;
            }

            (v, next) = (next, v);
        }

        return h;
    }
}
