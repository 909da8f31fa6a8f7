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
    /// <exception cref="OverflowException">The response, written as float32, would not fit an ONNX model: checked before it is computed (QA: 238 s and 6.6 GB first).</exception>
    public static double[] Compute(double[] ad, double[] bd, int steps, int truncation = 0)
    {
        var bytes = (long)steps * bd.Length * sizeof(float);
        if (bytes > OnnxModelWriter.MaxInitializerBytes)
        {
            throw new OverflowException(
                $"The memory's impulse response over {steps:N0} steps x order {bd.Length} takes {bytes:N0} bytes as float32, more than an ONNX model holds (about 2 GiB).");
        }

        return Maths.SquareMatrix.PowerRows(ad, bd, bd.Length, steps, truncation > 0 ? truncation : steps);
    }
}
