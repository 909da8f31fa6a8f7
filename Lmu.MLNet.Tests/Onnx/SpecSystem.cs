using Lmu.MLNet.Network;
using Lmu.MLNet.Maths;
using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>Flattened (row-major) Ad and Bd from the float64 maths, in the layout <c>LmuLayerSpec</c> stores.</summary>
internal static class SpecSystem
{
    public static (double[] Ad, double[] Bd) Create(int q, double theta, bool zoh)
    {
        var sys = DiscreteLegendreSystem.Create(q, theta, zoh ? LmuDiscretizer.Zoh : LmuDiscretizer.Euler);
        return (TensorConversions.Flatten(sys.Ad), sys.Bd);
    }
}
