using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// Small graph-building helpers shared by the exporter's parts. Weights always go to the main graph (<c>w</c>) so
/// that a Scan body can read them from the outer scope; nodes go to the graph being built (<c>g</c>).
/// </summary>
internal static class LmuOnnxOps
{
    /// <summary>Applies an activation; Identity adds no node.</summary>
    public static string Activation(OnnxGraphBuilder g, string x, LmuActivation kind) => kind switch
    {
        LmuActivation.Identity => x,
        LmuActivation.Tanh => g.Op("Tanh", [x]),
        LmuActivation.Relu => g.Op("Relu", [x]),
        LmuActivation.Sigmoid => g.Op("Sigmoid", [x]),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown activation."),
    };

    /// <summary>y = act(x W + b) for a <see cref="DenseSpec"/>.</summary>
    public static string Dense(OnnxGraphBuilder g, OnnxGraphBuilder w, string x, DenseSpec d, string hint)
    {
        var y = g.Op("MatMul", [x, w.Floats(hint + "_W", d.W, d.In, d.Out)]);
        if (d.B is not null)
        {
            y = g.Op("Add", [y, w.Floats(hint + "_b", d.B, d.Out)]);
        }

        return Activation(g, y, d.Activation);
    }

    /// <summary>A row-major [rows, cols] matrix as row-major [cols, rows].</summary>
    public static float[] Transposed(float[] m, int rows, int cols)
    {
        var t = new float[m.Length];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < cols; c++)
            {
                t[c * rows + r] = m[r * cols + c];
            }
        }

        return t;
    }

    /// <summary>Rows [from, from + count) of a row-major [rows, cols] matrix.</summary>
    public static float[] Rows(float[] m, int cols, int from, int count) => m.AsSpan(from * cols, count * cols).ToArray();

    /// <summary>Declares a float input [rows, width] of a Scan body and returns its name.</summary>
    public static string BodyInput(OnnxGraphBuilder b, string hint, long width, string rows = "N")
    {
        var name = b.Fresh(hint);
        b.Input(name, OnnxElementType.Float, rows, width);
        return name;
    }

    /// <summary>
    /// Declares <paramref name="value"/> as a float output [rows, width] of a Scan body, under a name of its own
    /// (Identity): one value may feed both a state and a scan output.
    /// </summary>
    public static void BodyOutput(OnnxGraphBuilder b, string value, long width, string rows = "N")
    {
        var name = b.Fresh("out");
        b.Add("Identity", [value], [name], []);
        b.Output(name, OnnxElementType.Float, rows, width);
    }

    /// <summary>A float zero tensor [N, width], N read from <paramref name="batchSource"/>'s first dimension.</summary>
    public static string Zeros(OnnxGraphBuilder g, string batchSource, int width)
    {
        // Shape-15's start/end slice the shape vector, giving [N] without Gather/Unsqueeze.
        var n = g.Op("Shape", [batchSource], OnnxAttribute.Int("start", 0), OnnxAttribute.Int("end", 1));
        var shape = g.Op("Concat", [n, g.Int64s("width", width)], OnnxAttribute.Int("axis", 0));
        // ConstantOfShape fills with float 0 when no value attribute is given.
        return g.Op("ConstantOfShape", [shape]);
    }
}
