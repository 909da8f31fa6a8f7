using Lmu.MLNet.Network;
using System.Text.Json;
using Lmu.MLNet.Onnx;

using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>One oracle 'forward' entry turned into a network spec (no head) plus its expected trajectories.</summary>
internal sealed class OracleForwardCase
{
    public required string Label { get; init; }

    public required LmuNetworkSpec Spec { get; init; }

    public required float[] Input { get; init; }

    public required double[][] Memory { get; init; }

    public required double[][] Hidden { get; init; }

    /// <summary>Reads entry <paramref name="index"/> of oracle <paramref name="source"/>; the oracle's "tanh(dense)" cell is a tanh SimpleRnn.</summary>
    public static OracleForwardCase Read(JsonElement root, int index, string source)
    {
        var e = root.GetProperty("forward")[index];
        var w = e.GetProperty("weights");
        int q = e.GetProperty("order").GetInt32(), d = e.GetProperty("memory_d").GetInt32();
        int n = e.GetProperty("input_d").GetInt32(), units = e.GetProperty("units").GetInt32();
        var theta = e.GetProperty("theta").GetDouble();
        var method = e.GetProperty("method").GetString();
        var h2m = e.GetProperty("hidden_to_memory").GetBoolean();
        var m2m = e.GetProperty("memory_to_memory").GetBoolean();
        var i2h = e.GetProperty("input_to_hidden").GetBoolean();
        Assert.AreEqual("tanh(dense)", e.GetProperty("hidden").GetString());
        var (ad, bd) = SpecSystem.Create(q, theta, method == "zoh");
        var x = Matrix(e.GetProperty("x"));

        var hiddenW = Flat(w.GetProperty("W_hm"));
        if (i2h)
        {
            hiddenW = [.. hiddenW, .. Flat(w.GetProperty("W_hx"))];
        }

        var layer = new LmuLayerSpec
        {
            InputSize = n,
            MemoryD = d,
            Order = q,
            Ad = ad,
            Bd = bd,
            Ex = Flat(w.GetProperty("e_x")),
            Bu = Flat(w.GetProperty("b_u")),
            Eh = h2m ? Flat(w.GetProperty("e_h")) : null,
            Em = m2m ? Flat(w.GetProperty("e_m")) : null,
            InputToHidden = i2h,
            Hidden = HiddenCell.SimpleRnn,
            Units = units,
            HiddenInput = new DenseSpec
            {
                In = d * q + (i2h ? n : 0), Out = units, W = hiddenW, B = Flat(w.GetProperty("b_h")), Activation = LmuActivation.Tanh,
            },
            HiddenRecurrent = new DenseSpec { In = units, Out = units, W = Flat(w.GetProperty("W_hh")) },
        };
        return new OracleForwardCase
        {
            Label = $"{source} forward[{index}] {method} q={q} theta={theta} h2m={h2m} m2m={m2m} i2h={i2h}",
            Spec = new LmuNetworkSpec { SequenceLength = x.Length, Layers = [layer], Head = [] },
            Input = x.SelectMany(r => r.Select(v => (float)v)).ToArray(),
            Memory = Matrix(e.GetProperty("memory")),
            Hidden = Matrix(e.GetProperty("hidden_out")),
        };
    }

    private static double[][] Matrix(JsonElement a) =>
        a.EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetDouble()).ToArray()).ToArray();

    private static float[] Flat(JsonElement a) => a.ValueKind == JsonValueKind.Array && a.GetArrayLength() > 0 && a[0].ValueKind == JsonValueKind.Array
        ? Matrix(a).SelectMany(r => r.Select(v => (float)v)).ToArray()
        : a.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray();
}
