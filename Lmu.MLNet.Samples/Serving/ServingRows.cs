namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// A row type for PredictionEngines over ANY saved model: ML.NET binds columns to members, so a fixed set of typed
/// slots is mapped by a SchemaDefinition onto the model's own column names (unused slots are left out of the mapping).
/// </summary>
internal class ServingSlots
{
    public const int Slots = 8;

    public float[] V0 { get; set; } = [];
    public float[] V1 { get; set; } = [];
    public float[] V2 { get; set; } = [];
    public float[] V3 { get; set; } = [];
    public float[] V4 { get; set; } = [];
    public float[] V5 { get; set; } = [];
    public float[] V6 { get; set; } = [];
    public float[] V7 { get; set; } = [];
    public float S0 { get; set; }
    public float S1 { get; set; }
    public float S2 { get; set; }
    public float S3 { get; set; }
    public float S4 { get; set; }
    public float S5 { get; set; }
    public float S6 { get; set; }
    public float S7 { get; set; }
    public int I0 { get; set; }
    public int I1 { get; set; }
    public int I2 { get; set; }
    public int I3 { get; set; }
    public int I4 { get; set; }
    public int I5 { get; set; }
    public int I6 { get; set; }
    public int I7 { get; set; }
    public uint U0 { get; set; }
    public uint U1 { get; set; }
    public uint U2 { get; set; }
    public uint U3 { get; set; }
    public uint U4 { get; set; }
    public uint U5 { get; set; }
    public uint U6 { get; set; }
    public uint U7 { get; set; }
    public long L0 { get; set; }
    public long L1 { get; set; }
    public long L2 { get; set; }
    public long L3 { get; set; }
    public long L4 { get; set; }
    public long L5 { get; set; }
    public long L6 { get; set; }
    public long L7 { get; set; }
    public string T0 { get; set; } = string.Empty;
    public string T1 { get; set; } = string.Empty;
    public string T2 { get; set; } = string.Empty;
    public string T3 { get; set; } = string.Empty;
    public string T4 { get; set; } = string.Empty;
    public string T5 { get; set; } = string.Empty;
    public string T6 { get; set; } = string.Empty;
    public string T7 { get; set; } = string.Empty;
}

/// <summary>Input row: the shared vector, Single, integer (Int32, UInt32, Int64) and text slots.</summary>
internal sealed class ServingInput : ServingSlots
{
}

/// <summary>The output counterpart of <see cref="ServingInput"/>; key columns are read as their uint index.</summary>
internal sealed class ServingOutput : ServingSlots
{
    public uint K0 { get; set; }
    public uint K1 { get; set; }
    public uint K2 { get; set; }
    public uint K3 { get; set; }
    public uint K4 { get; set; }
    public uint K5 { get; set; }
    public uint K6 { get; set; }
    public uint K7 { get; set; }
}
