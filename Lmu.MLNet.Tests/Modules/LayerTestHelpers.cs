using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>Builds layers with given or random weights and compares tensors.</summary>
internal static class LayerTestHelpers
{
    /// <summary>Overwrites a named parameter (e.g. "e_x", "hidden.W_ih") with the given values.</summary>
    public static void SetParameter(nn.Module module, string name, Tensor value)
    {
        var p = module.named_parameters().FirstOrDefault(x => x.name == name).parameter
            ?? throw new AssertFailedException($"No parameter named {name}; have {string.Join(", ", module.named_parameters().Select(x => x.name))}.");
        using var _ = torch.no_grad();
        Assert.AreEqual(string.Join(",", p.shape), string.Join(",", value.shape), $"shape of {name}");
        p.copy_(value);
    }

    /// <summary>Sets every parameter to random values of a moderate scale (so no path hides behind zeros).</summary>
    public static void Randomise(nn.Module module, long seed, double scale = 0.3)
    {
        using var _ = torch.no_grad();
        var g = new torch.Generator((ulong)seed);
        foreach (var (name, p) in module.named_parameters())
        {
            // The dynamics (theta, and A and B when they train) keep their Legendre values: random ones are unstable.
            if (name.StartsWith("dynamics.", StringComparison.Ordinal)) continue;
            using var r = torch.randn(p.shape, dtype: p.dtype, generator: g) * scale;
            p.copy_(r);
        }
    }

    /// <summary>A second layer with the same options (optionally changed) and the same weights.</summary>
    public static LmuLayer CloneWith(LmuLayer source, Action<LmuLayerOptions> change)
    {
        var o = source.Options;
        change(o);
        var copy = new LmuLayer(o);
        copy.to(source.parameters().First().dtype);
        var src = source.state_dict();
        var dst = copy.state_dict();
        using var _ = torch.no_grad();
        foreach (var (k, v) in src) dst[k].copy_(v);
        return copy;
    }

    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        using var d = (a.to(float64) - b.to(float64)).abs().max();
        return d.item<double>();
    }

    public static Tensor FromRows(double[,] m) => torch.tensor(Flatten(m), [m.GetLength(0), m.GetLength(1)], float64);

    public static double[] Flatten(double[,] m)
    {
        var r = new double[m.Length];
        Buffer.BlockCopy(m, 0, r, 0, m.Length * sizeof(double));
        return r;
    }

    /// <summary>Runs with the blocked projection in blocks of <paramref name="block"/> steps, or off (0: the FFT convolution).</summary>
    internal static void WithBlocks(int block, Action action)
    {
        int steps = LmuLayer.BlockSteps;
        bool on = LmuLayer.BlockedProjection;
        LmuLayer.BlockedProjection = block > 0;
        LmuLayer.BlockSteps = block > 0 ? block : steps;
        try
        {
            action();
        }
        finally
        {
            LmuLayer.BlockedProjection = on;
            LmuLayer.BlockSteps = steps;
        }
    }
}
