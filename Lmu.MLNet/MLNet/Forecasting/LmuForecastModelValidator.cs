using System.Diagnostics.CodeAnalysis;
using Lmu.MLNet.Network;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Checks a <see cref="LmuForecastModel"/> read from a file before anything is sized or computed from it: every size
/// agrees with its arrays, every enum is defined and every number is finite, so a checkpoint that passes its checksum
/// but was written wrongly (or by hand) fails with a message instead of an index error or a NaN forecast.
/// </summary>
internal static class LmuForecastModelValidator
{
    /// <summary>Throws <see cref="InvalidDataException"/> naming the first inconsistency.</summary>
    public static void Validate(LmuForecastModel m)
    {
        Require(m.WindowSize >= 1 && m.Horizon >= 1, $"window {m.WindowSize} and horizon {m.Horizon} must be positive");
        Require(Enum.IsDefined(m.Scaling), $"unknown scaling {(int)m.Scaling}");
        Require(m.WindowColumn.Length > 0 && m.ForecastColumn.Length > 0, "a column name is empty");
        Require(m.Location is not null && m.Location.Length == m.Channels, $"{m.Location?.Length} locations for {m.Channels} channels");
        Require(m.Scale is not null && m.Scale.Length == m.Channels, $"{m.Scale?.Length} scales for {m.Channels} channels");
        Require(m.Location!.All(double.IsFinite) && m.Scale!.All(s => double.IsFinite(s) && s > 0), "a location or scale is not finite (or a scale not positive)");
        Require(double.IsFinite(m.ConfidenceLevel), "the confidence level is not finite");
        Require((m.LowerOffsets is null) == (m.UpperOffsets is null), "only one of the bound offsets is present");
        Require(m.LowerOffsets is null || (m.LowerOffsets.Length == m.Horizon && m.UpperOffsets!.Length == m.Horizon), "bound offsets do not hold one value per horizon step");
        Require(Finite(m.LowerOffsets) && Finite(m.UpperOffsets), "a bound offset is not finite");

        var s = m.Network;
        Require(s.Layers is { Count: >= 1 }, "the network has no LMU layer");
        Require(s.SequenceLength == m.WindowSize, $"the network reads {s.SequenceLength} steps; the window is {m.WindowSize}");
        Require(s.Layers[0].InputSize == m.Channels, $"the network reads {s.Layers[0].InputSize} channels; the model has {m.Channels}");
        for (var i = 0; i < s.Layers.Count; i++)
        {
            ValidateLayer(s.Layers[i], s.Layers.Count == 1 ? string.Empty : $"layer {i}: ");
        }

        Require(s.Head.All(Dense), "a dense layer's size disagrees with its weights, or its activation is unknown");
        try
        {
            LmuNetworkSpecValidator.Validate(s);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException("the network is inconsistent: " + e.Message, e);
        }

        Require(s.OutputSize == m.Horizon, $"the network outputs {s.OutputSize} values; the horizon is {m.Horizon}");
        Require(s.Layers.All(l => Finite(l.Ad) && Finite(l.Bd) && Finite(l.Ex) && Finite(l.Bu) && Finite(l.Eh) && Finite(l.Em)), "a memory weight is not finite");
        Require(s.Layers.All(l => Weights(l.HiddenInput) && Weights(l.HiddenRecurrent)) && s.Head.All(Weights), "a dense weight is not finite");
    }

    // Sizes against arrays before the spec validator runs: it multiplies ints, which a corrupt size could wrap onto a length.
    private static void ValidateLayer(LmuLayerSpec l, string where)
    {
        Require(Enum.IsDefined(l.Hidden), $"{where}unknown hidden cell {(int)l.Hidden}");
        Require(Dense(l.HiddenInput) && Dense(l.HiddenRecurrent), $"{where}a dense layer's size disagrees with its weights, or its activation is unknown");
        Require(l.Ad is not null && l.Bd is not null, $"{where}the memory's transition weights are missing");
        Require(l.Order >= 1 && l.MemoryD >= 1 && (long)l.Order * l.Order == l.Ad!.Length, $"{where}order {l.Order} disagrees with {l.Ad!.Length} transition weights");
        Require(l.Ex is null || (long)l.InputSize * l.MemoryD == l.Ex.Length, $"{where}the input encoder's size disagrees with its weights");
        Require(l.Em is null || (long)l.MemoryD * l.Order * l.MemoryD == l.Em.Length, $"{where}the memory encoder's size disagrees with its weights");
        Require(l.Eh is null || (long)l.Units * l.MemoryD == l.Eh.Length, $"{where}the hidden encoder's size disagrees with its weights");
    }

    private static bool Dense(DenseSpec? d) => d is null || (d.W is not null && d.In >= 1 && d.Out >= 1 && (long)d.In * d.Out == d.W.Length && Enum.IsDefined(d.Activation));

    private static bool Weights(DenseSpec? d) => d is null || (Finite(d.W) && Finite(d.B));

    private static bool Finite(double[]? a) => a is null || a.All(double.IsFinite);

    private static bool Finite(float[]? a) => a is null || a.All(float.IsFinite);

    private static void Require([DoesNotReturnIf(false)] bool ok, string what)
    {
        if (!ok)
        {
            throw new InvalidDataException(what + ".");
        }
    }
}
