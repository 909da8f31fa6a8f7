using System.Text.Json;
using Lmu.MLNet.Maths;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.Infrastructure;
using TorchSharp;
using static Lmu.MLNet.Tests.Modules.LayerTestHelpers;
using static TorchSharp.torch;

namespace Lmu.MLNet.Tests.Modules;

/// <summary>
/// The TorchSharp layer against the oracle's whole forward passes (float64, given weights). Tolerance 1e-9: both
/// sides are float64 and T = 12 (shared) or 16 (committed) steps of O(1) values, so only a few ulps of accumulated rounding separate them; a
/// wrong index or transposed weight shows up at 1e-2. Each case runs against both oracles (committed and shared, same
/// tolerance: both are float64 from the same equations); they share the option sets per index, not the weights.
/// </summary>
[TestClass]
public sealed class OracleForwardTests
{
    private const double Tolerance = 1e-9;

    // In both oracles cases 0 and 1 have recurrent memory input (no parallel form); 2 and 3 are feed-forward
    // (OracleFileTests.ForwardCasesKeepTheOptionSetsTheTestsIndex checks this).
    [TestMethod]
    [DataRow(OracleFile.Committed, 0, LmuExecutionMode.Cell)]
    [DataRow(OracleFile.Committed, 0, LmuExecutionMode.FusedScan)]
    [DataRow(OracleFile.Committed, 1, LmuExecutionMode.Cell)]
    [DataRow(OracleFile.Committed, 1, LmuExecutionMode.FusedScan)]
    [DataRow(OracleFile.Committed, 2, LmuExecutionMode.Cell)]
    [DataRow(OracleFile.Committed, 2, LmuExecutionMode.FusedScan)]
    [DataRow(OracleFile.Committed, 2, LmuExecutionMode.Parallel)]
    [DataRow(OracleFile.Committed, 3, LmuExecutionMode.Cell)]
    [DataRow(OracleFile.Committed, 3, LmuExecutionMode.FusedScan)]
    [DataRow(OracleFile.Committed, 3, LmuExecutionMode.Parallel)]
    [DataRow(OracleFile.Shared, 0, LmuExecutionMode.Cell)]
    [DataRow(OracleFile.Shared, 0, LmuExecutionMode.FusedScan)]
    [DataRow(OracleFile.Shared, 1, LmuExecutionMode.Cell)]
    [DataRow(OracleFile.Shared, 1, LmuExecutionMode.FusedScan)]
    [DataRow(OracleFile.Shared, 2, LmuExecutionMode.Cell)]
    [DataRow(OracleFile.Shared, 2, LmuExecutionMode.FusedScan)]
    [DataRow(OracleFile.Shared, 2, LmuExecutionMode.Parallel)]
    [DataRow(OracleFile.Shared, 3, LmuExecutionMode.Cell)]
    [DataRow(OracleFile.Shared, 3, LmuExecutionMode.FusedScan)]
    [DataRow(OracleFile.Shared, 3, LmuExecutionMode.Parallel)]
    public void LayerMatchesOracleForward(string source, int index, LmuExecutionMode mode)
    {
        var c = OracleFile.Load(source).GetProperty("forward")[index];

        using var layer = BuildFromOracle(c, mode);
        var x = FromRows(OracleFile.Matrix(c.GetProperty("x"))).unsqueeze(0);   // [1, T, input_d]
        var expectedH = FromRows(OracleFile.Matrix(c.GetProperty("hidden_out")));
        var expectedM = FromRows(OracleFile.Matrix(c.GetProperty("memory")));

        using var _ = torch.no_grad();
        var (output, state) = layer.forward(x, null);
        Assert.IsTrue(MaxAbsDiff(output.squeeze(0), expectedH) < Tolerance, $"{source} forward[{index}]: hidden sequence differs by {MaxAbsDiff(output.squeeze(0), expectedH):E2}");
        var lastM = expectedM[-1];
        Assert.IsTrue(MaxAbsDiff(state.Memory.squeeze(0), lastM) < Tolerance, $"{source} forward[{index}]: final memory differs");
    }

    [TestMethod]
    [DataRow(OracleFile.Committed, 0)]
    [DataRow(OracleFile.Committed, 1)]
    [DataRow(OracleFile.Committed, 2)]
    [DataRow(OracleFile.Committed, 3)]
    [DataRow(OracleFile.Shared, 0)]
    [DataRow(OracleFile.Shared, 1)]
    [DataRow(OracleFile.Shared, 2)]
    [DataRow(OracleFile.Shared, 3)]
    public void StreamingStepByStepMatchesOracleMemoryAtEveryStep(string source, int index)
    {
        var c = OracleFile.Load(source).GetProperty("forward")[index];
        using var layer = BuildFromOracle(c, LmuExecutionMode.Auto);
        var x = FromRows(OracleFile.Matrix(c.GetProperty("x"))).unsqueeze(0);
        var expectedH = FromRows(OracleFile.Matrix(c.GetProperty("hidden_out")));
        var expectedM = FromRows(OracleFile.Matrix(c.GetProperty("memory")));
        using var _ = torch.no_grad();
        LmuState? state = null;
        for (int t = 0; t < x.shape[1]; t++)
        {
            var (y, s) = layer.forward(x.narrow(1, t, 1), state);
            state = s;
            Assert.IsTrue(MaxAbsDiff(s.Memory.squeeze(0), expectedM[t]) < Tolerance, $"{source} forward[{index}]: memory at step {t}");
            Assert.IsTrue(MaxAbsDiff(y.squeeze(0).squeeze(0), expectedH[t]) < Tolerance, $"{source} forward[{index}]: hidden at step {t}");
        }
    }

    internal static LmuLayer BuildFromOracle(JsonElement c, LmuExecutionMode mode)
    {
        int order = c.GetProperty("order").GetInt32(), memD = c.GetProperty("memory_d").GetInt32();
        int inputD = c.GetProperty("input_d").GetInt32(), units = c.GetProperty("units").GetInt32();
        var options = new LmuLayerOptions
        {
            InputSize = inputD, MemoryD = memD, Order = order, Theta = c.GetProperty("theta").GetDouble(),
            Discretizer = c.GetProperty("method").GetString() == "zoh" ? LmuDiscretizer.Zoh : LmuDiscretizer.Euler,
            HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = units, HiddenActivation = LmuActivation.Tanh,
            HiddenToMemory = c.GetProperty("hidden_to_memory").GetBoolean(),
            MemoryToMemory = c.GetProperty("memory_to_memory").GetBoolean(),
            InputToHidden = c.GetProperty("input_to_hidden").GetBoolean(),
            UseMemoryBias = true, ExecutionMode = mode,
        };
        var layer = new LmuLayer(options);
        layer.to(float64);
        var w = c.GetProperty("weights");
        SetParameter(layer, "e_x", FromRows(OracleFile.Matrix(w.GetProperty("e_x"))));
        SetParameter(layer, "b_u", torch.tensor(OracleFile.Vector(w.GetProperty("b_u")), float64));
        if (options.HiddenToMemory) SetParameter(layer, "e_h", FromRows(OracleFile.Matrix(w.GetProperty("e_h"))));
        if (options.MemoryToMemory) SetParameter(layer, "e_m", FromRows(OracleFile.Matrix(w.GetProperty("e_m"))));
        // Oracle: h_t = tanh(flat(m_t) W_hm + h_{t-1} W_hh + b_h [+ x_t W_hx]); ours: z W_ih^T + b_ih + h W_hh^T + b_hh.
        var whm = FromRows(OracleFile.Matrix(w.GetProperty("W_hm")));
        var wz = options.InputToHidden ? torch.cat([whm, FromRows(OracleFile.Matrix(w.GetProperty("W_hx")))], 0) : whm;
        SetParameter(layer, "hidden.W_ih", wz.t());
        SetParameter(layer, "hidden.b_ih", torch.tensor(OracleFile.Vector(w.GetProperty("b_h")), float64));
        SetParameter(layer, "hidden.W_hh", FromRows(OracleFile.Matrix(w.GetProperty("W_hh"))).t());
        SetParameter(layer, "hidden.b_hh", torch.zeros(units, dtype: float64));
        return layer;
    }
}
