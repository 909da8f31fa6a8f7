using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>Conversions between .NET arrays (float64 maths, exported weights) and tensors.</summary>
internal static class TensorConversions
{
    /// <summary>A [rows, cols] tensor of the given dtype from a float64 matrix.</summary>
    public static Tensor FromMatrix(double[,] m, ScalarType dtype)
    {
        using var t = torch.tensor(Flatten(m), [m.GetLength(0), m.GetLength(1)], float64);
        return t.to(dtype);
    }

    /// <summary>Row-major copy of a float64 matrix.</summary>
    public static double[] Flatten(double[,] m) => Maths.SquareMatrix.Flatten(m);

    /// <summary>Row-major float copy of a 2-D tensor (any dtype), e.g. W^T for a y = x W export layout.</summary>
    public static float[] ToFloatArray(Tensor t)
    {
        // The scope owns the chain's temporaries, so none is left to a finalizer while libtorch still reads it.
        using var scope = NewDisposeScope();
        var c = t.detach().to(float32).contiguous().cpu();
        return c.data<float>().ToArray();
    }
}
