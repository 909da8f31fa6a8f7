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
        => Maths.SquareMatrix.PowerRows(ad, bd, bd.Length, steps, truncation > 0 ? truncation : steps);

    /// <summary>
    /// Refuses a response that, written into a graph as float32, would not fit an ONNX model, before it is computed (QA:
    /// 35-238 s and 6.3-6.6 GB first, then "Array dimensions exceeded supported range"). For the layers that write it
    /// (review: not every caller of <see cref="Compute"/> does).
    /// </summary>
    /// <exception cref="OverflowException">The response would take more than <see cref="OnnxModelWriter.MaxInitializerBytes"/>.</exception>
    public static void CheckFitsAModel(int steps, int order)
    {
        var bytes = (long)steps * order * sizeof(float);
        if (bytes > OnnxModelWriter.MaxInitializerBytes)
        {
            throw new OverflowException(
                $"The memory's impulse response over {steps:N0} steps x order {order} takes {bytes:N0} bytes as float32, more than an ONNX model holds (about 2 GiB).");
        }
    }
}
