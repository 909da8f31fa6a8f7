using System.Security.Cryptography;
using Lmu.MLNet.Network;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Everything a fitted forecaster needs to score, as plain data: the trained network, the window layout, the scaling
/// and the bound offsets. The ONNX graph and the streaming engine are both made from it, and the engine's checkpoint
/// stores it.
/// </summary>
/// <remarks>
/// Channel 0 of a window is the target series, channels 1.. the covariates in <see cref="CovariateColumns"/> order.
/// Scaled channel c is (x_c - a_c) / b_c: for covariates a, b are training means and deviations; for the target they
/// are the global ones or, with <see cref="LmuForecastScaling.PerWindow"/>, the window's own. The network predicts
/// the next <see cref="Horizon"/> scaled values f; the forecast is a_0 + b_0 f, and the bounds
/// a_0 + b_0 (f + LowerOffsets) and a_0 + b_0 (f + UpperOffsets).
/// </remarks>
internal sealed class LmuForecastModel
{
    /// <summary>Relative floor of the per-window scale: b = max(std, ScaleFloor * max(|mean|, <see cref="ScaleFloorUnit"/>)).</summary>
    public const double ScaleFloor = 1e-3;

    /// <summary>
    /// Set in the written scaling value of models whose floor unit is their data's (<see cref="RelativeScaleFloor"/>); an
    /// unused bit, so models written before it read as they were written.
    /// </summary>
    internal const int RelativeScaleFloorBit = 0x100;

    private string? _fingerprint;

    public required LmuNetworkSpec Network { get; init; }

    public required int WindowSize { get; init; }

    public required int Horizon { get; init; }

    public required string WindowColumn { get; init; }

    public required IReadOnlyList<string> CovariateColumns { get; init; }

    public required string ForecastColumn { get; init; }

    public string? LowerBoundColumn { get; init; }

    public string? UpperBoundColumn { get; init; }

    public required LmuForecastScaling Scaling { get; init; }

    /// <summary>
    /// Whether the per-window scale's floor is in the data's units: <see cref="ScaleFloorUnit"/> is then the training
    /// target's deviation, which is below 1 (the Fit sets it only then, for per-window scaling, so every other model
    /// writes what models always wrote). Models fitted before 2026-12-07 floor at 1e-3 x max(|mean|, 1), which for a series
    /// in small units (QA: values of 1e-8 and below) is far above every window's spread, so the network saw flat windows
    /// and the forecasts were off by thousands of times the data (sMAPE 200); they keep that floor, so they forecast as
    /// they did.
    /// </summary>
    public bool RelativeScaleFloor { get; init; }

    /// <summary>The unit of the per-window scale's floor: 1, or with <see cref="RelativeScaleFloor"/> min(1, the training target's deviation).</summary>
    public double ScaleFloorUnit => FloorUnit(RelativeScaleFloor, Scale[0]);

    /// <summary>Per channel location a_c (the target's is used only with Global scaling).</summary>
    public required double[] Location { get; init; }

    /// <summary>Per channel scale b_c &gt; 0.</summary>
    public required double[] Scale { get; init; }

    public double ConfidenceLevel { get; init; }

    /// <summary>Per horizon step, scaled-residual quantile at (1 - level) / 2; null when no bounds.</summary>
    public double[]? LowerOffsets { get; init; }

    /// <summary>Per horizon step, scaled-residual quantile at (1 + level) / 2; null when no bounds.</summary>
    public double[]? UpperOffsets { get; init; }

    public int Channels => 1 + CovariateColumns.Count;

    public bool HasBounds => LowerOffsets is not null && UpperOffsets is not null;

    /// <summary>
    /// SHA-256 (lowercase hex) of the model as <see cref="Write"/> serialises it: every weight, size, scaling value,
    /// bound offset and column name, so two models share it only when they forecast identically. Computed once; the
    /// model is never changed after it is built.
    /// </summary>
    public string Fingerprint => _fingerprint ??= Convert.ToHexStringLower(SHA256.HashData(ToBytes()));

    /// <summary>The model as <see cref="Write"/> writes it.</summary>
    public byte[] ToBytes()
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream))
        {
            Write(w);
        }

        return stream.ToArray();
    }

    /// <summary>The target's (a, b) for a window of raw target values (oldest first).</summary>
    public (double Location, double Scale) TargetScaling(ReadOnlySpan<double> window) => TargetScaling(Scaling, Location[0], Scale[0], ScaleFloorUnit, window);

    /// <summary>The floor unit: 1, or for a relative floor min(1, the target's global deviation) (1 when that is not positive).</summary>
    public static double FloorUnit(bool relative, double targetScale) => relative && targetScale > 0 ? Math.Min(1, targetScale) : 1;

    /// <summary>The target's (a, b): the global pair, or the window's mean and floored standard deviation.</summary>
    public static (double Location, double Scale) TargetScaling(LmuForecastScaling scaling, double location, double scale, double floorUnit, ReadOnlySpan<double> window)
    {
        if (scaling == LmuForecastScaling.Global)
        {
            return (location, scale);
        }

        double mean = 0;
        foreach (var v in window)
        {
            mean += v;
        }

        mean /= window.Length;
        double var = 0;
        foreach (var v in window)
        {
            var += (v - mean) * (v - mean);
        }

        var std = Math.Sqrt(var / window.Length);
        return (mean, Math.Max(std, ScaleFloor * Math.Max(Math.Abs(mean), floorUnit)));
    }

    /// <summary>The model's ONNX graph (row layout for ML.NET's OnnxTransformer).</summary>
    public byte[] ToOnnx() => LmuForecastOnnx.Export(this);

    /// <summary>Writes the model (exact doubles and floats).</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(WindowSize);
        w.Write(Horizon);
        w.Write(WindowColumn);
        w.Write(CovariateColumns.Count);
        foreach (var c in CovariateColumns)
        {
            w.Write(c);
        }

        w.Write(ForecastColumn);
        w.Write(LowerBoundColumn ?? string.Empty);
        w.Write(UpperBoundColumn ?? string.Empty);
        w.Write((int)Scaling | (RelativeScaleFloor ? RelativeScaleFloorBit : 0));
        BinaryArrays.Write(w, Location);
        BinaryArrays.Write(w, Scale);
        w.Write(ConfidenceLevel);
        BinaryArrays.Write(w, LowerOffsets);
        BinaryArrays.Write(w, UpperOffsets);
        WriteNetwork(w, Network);
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    public static LmuForecastModel Read(BinaryReader r)
    {
        var window = r.ReadInt32();
        var horizon = r.ReadInt32();
        var windowColumn = r.ReadString();
        var covariates = new string[BinaryArrays.Count(r, 1)];
        for (var i = 0; i < covariates.Length; i++)
        {
            covariates[i] = r.ReadString();
        }

        var forecast = r.ReadString();
        var lower = r.ReadString();
        var upper = r.ReadString();
        var scaling = r.ReadInt32();
        return new LmuForecastModel
        {
            WindowSize = window,
            Horizon = horizon,
            WindowColumn = windowColumn,
            CovariateColumns = covariates,
            ForecastColumn = forecast,
            LowerBoundColumn = lower.Length == 0 ? null : lower,
            UpperBoundColumn = upper.Length == 0 ? null : upper,
            Scaling = (LmuForecastScaling)(scaling & ~RelativeScaleFloorBit),
            RelativeScaleFloor = (scaling & RelativeScaleFloorBit) != 0,
            Location = BinaryArrays.ReadDoubles(r)!,
            Scale = BinaryArrays.ReadDoubles(r)!,
            ConfidenceLevel = r.ReadDouble(),
            LowerOffsets = BinaryArrays.ReadDoubles(r),
            UpperOffsets = BinaryArrays.ReadDoubles(r),
            Network = ReadNetwork(r),
        };
    }

    // Layout: the sequence length, the first layer, the head, then (stacks only) the count and the layers after the
    // first. A one-layer model thus writes exactly what it wrote before stacks existed, so its fingerprint and the
    // checkpoints written by earlier versions stay valid; the reader takes bytes left after the head as the rest of a
    // stack (the network is the last thing a model writes, and a model is read from its own length-prefixed block).
    private static void WriteNetwork(BinaryWriter w, LmuNetworkSpec s)
    {
        // The layout has no readout: a forecast reads the last step (the forecaster never builds another readout).
        if (s.Readout != LmuReadout.LastStep)
        {
            throw new InvalidOperationException($"A forecast model reads the last step; this network has the {s.Readout} readout.");
        }

        w.Write(s.SequenceLength);
        WriteLayer(w, s.Layers[0]);
        w.Write(s.Head.Count);
        foreach (var d in s.Head)
        {
            WriteDense(w, d);
        }

        if (s.Layers.Count > 1)
        {
            w.Write(s.Layers.Count - 1);
            for (var i = 1; i < s.Layers.Count; i++)
            {
                WriteLayer(w, s.Layers[i]);
            }
        }
    }

    private static LmuNetworkSpec ReadNetwork(BinaryReader r)
    {
        var steps = r.ReadInt32();
        var layers = new List<LmuLayerSpec> { ReadLayer(r) };
        var head = new DenseSpec[BinaryArrays.Count(r, 1)];
        for (var i = 0; i < head.Length; i++)
        {
            head[i] = ReadDense(r)!;
        }

        if (r.BaseStream.Position < r.BaseStream.Length)
        {
            // Each further layer takes at least its 4 sizes and 8 array lengths/flags.
            var more = BinaryArrays.Count(r, 40);
            if (more < 1)
            {
                throw new InvalidDataException($"the network announces {more} further layers after its first; a stack has at least one.");
            }

            for (var i = 0; i < more; i++)
            {
                layers.Add(ReadLayer(r));
            }
        }

        return new LmuNetworkSpec { SequenceLength = steps, Layers = layers, Head = head };
    }

    private static void WriteLayer(BinaryWriter w, LmuLayerSpec l)
    {
        w.Write(l.InputSize);
        w.Write(l.MemoryD);
        w.Write(l.Order);
        BinaryArrays.Write(w, l.Ad);
        BinaryArrays.Write(w, l.Bd);
        BinaryArrays.Write(w, l.Ex);
        BinaryArrays.Write(w, l.Bu);
        BinaryArrays.Write(w, l.Eh);
        BinaryArrays.Write(w, l.Em);
        w.Write(l.InputToHidden);
        w.Write((int)l.Hidden);
        w.Write(l.Units);
        WriteDense(w, l.HiddenInput);
        WriteDense(w, l.HiddenRecurrent);
    }

    private static LmuLayerSpec ReadLayer(BinaryReader r) => new()
    {
        InputSize = r.ReadInt32(),
        MemoryD = r.ReadInt32(),
        Order = r.ReadInt32(),
        Ad = BinaryArrays.ReadDoubles(r)!,
        Bd = BinaryArrays.ReadDoubles(r)!,
        Ex = BinaryArrays.ReadFloats(r),
        Bu = BinaryArrays.ReadFloats(r),
        Eh = BinaryArrays.ReadFloats(r),
        Em = BinaryArrays.ReadFloats(r),
        InputToHidden = r.ReadBoolean(),
        Hidden = (HiddenCell)r.ReadInt32(),
        Units = r.ReadInt32(),
        HiddenInput = ReadDense(r),
        HiddenRecurrent = ReadDense(r),
    };

    private static void WriteDense(BinaryWriter w, DenseSpec? d)
    {
        w.Write(d is not null);
        if (d is null)
        {
            return;
        }

        w.Write(d.In);
        w.Write(d.Out);
        BinaryArrays.Write(w, d.W);
        BinaryArrays.Write(w, d.B);
        w.Write((int)d.Activation);
    }

    private static DenseSpec? ReadDense(BinaryReader r)
    {
        if (!r.ReadBoolean())
        {
            return null;
        }

        return new DenseSpec
        {
            In = r.ReadInt32(),
            Out = r.ReadInt32(),
            W = BinaryArrays.ReadFloats(r)!,
            B = BinaryArrays.ReadFloats(r),
            Activation = (LmuActivation)r.ReadInt32(),
        };
    }
}
