using Lmu.MLNet.Modules;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>The small networks the ONNX form tests export, and TorchSharp's outputs to compare the graphs with.</summary>
internal static class OnnxParityNetworks
{
    /// <summary>The layers under a [4] hidden head with 3 outputs, random weights (scale 0.4) from <paramref name="seed"/>, in eval mode.</summary>
    public static LmuNetwork Create(LmuLayerOptions[] layers, long seed)
    {
        var net = new LmuNetwork(new LmuNetworkOptions { Layers = layers, HeadHiddenSizes = [4], OutputSize = 3 });
        Randomise(net, seed, 0.4);
        net.eval();
        return net;
    }

    /// <summary>Random rows [rows, steps * channels] (step-major) and TorchSharp's outputs for them, without a gradient.</summary>
    public static (float[] X, float[] Torch) Forward(LmuNetwork net, int rows, int steps, int channels, ulong seed)
    {
        using var scope = NewDisposeScope();
        var x = torch.randn([rows, steps, channels], generator: new torch.Generator(seed));
        using var noGrad = torch.no_grad();
        return (x.reshape(rows, -1).data<float>().ToArray(), net.forward(x).data<float>().ToArray());
    }

    /// <summary>
    /// Asserts that <paramref name="outputs"/> (one row of outputs per row of <paramref name="x"/>, rows of
    /// <paramref name="width"/> values) equal the spec's float64 step-by-step forward within 1e-4.
    /// </summary>
    public static void AssertFloat64Forward(Network.LmuNetworkSpec spec, float[] x, int width, float[] outputs, string what)
    {
        for (var r = 0; r < x.Length / width; r++)
        {
            var reference = LmuWindowForward.Run(spec, x.AsSpan(r * width, width).ToArray().Select(v => (double)v).ToArray());
            for (var k = 0; k < reference.Length; k++)
            {
                Assert.AreEqual(reference[k], outputs[r * reference.Length + k], 1e-4, $"row {r} output {k}: float64 forward vs {what}");
            }
        }
    }

    /// <summary>
    /// Asserts that Auto exports the single layer of <paramref name="net"/> in blocks and that the blocked graph agrees
    /// with TorchSharp (1e-4), the Scan form of the same graph (1e-5, outputs and last memory) and the float64 forward.
    /// </summary>
    public static void AssertBlocksAgree(LmuNetwork net, int rows, int steps, int channels, ulong seed)
    {
        var spec = net.ToSpec(steps);
        Assert.AreEqual(Lmu.MLNet.Onnx.LmuOnnxForm.Blocked, Lmu.MLNet.Onnx.LmuOnnxNetwork.ChooseForm(spec.Layers[0], Lmu.MLNet.Onnx.LmuOnnxForm.Auto, false, null, masked: false), "Auto");
        var (x, torchValues) = Forward(net, rows, steps, channels, seed);
        var width = steps * channels;
        float[] Run(Lmu.MLNet.Onnx.LmuOnnxForm form, string output) => OnnxRunner.Run(
            Lmu.MLNet.Onnx.LmuOnnxExporter.Export(spec, new Lmu.MLNet.Onnx.LmuOnnxExportOptions { Form = form, FinalMemoryName = "MemT" }), "Features", x, width, output)[output];
        var blocked = Run(Lmu.MLNet.Onnx.LmuOnnxForm.Auto, "Output");
        Bound.Below(1e-4, MaxDiff(torchValues, blocked), "blocks against TorchSharp");
        Bound.Below(1e-5, MaxDiff(Run(Lmu.MLNet.Onnx.LmuOnnxForm.Scan, "Output"), blocked), "blocks against the Scan");
        AssertFloat64Forward(spec, x, width, blocked, "blocks");
        Bound.Below(1e-5, MaxDiff(Run(Lmu.MLNet.Onnx.LmuOnnxForm.Scan, "MemT"), Run(Lmu.MLNet.Onnx.LmuOnnxForm.Blocked, "MemT")), "last memory: blocks against the Scan");
    }

    /// <summary>The largest absolute difference of two outputs of the same length.</summary>
    public static double MaxDiff(float[] a, float[] b)
    {
        Assert.AreEqual(a.Length, b.Length, "output lengths");
        return a.Zip(b, (p, q) => (double)Math.Abs(p - q)).Max();
    }
}
