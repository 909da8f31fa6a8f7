namespace Lmu.MLNet.Forecasting;

/// <summary>Length-prefixed (-1 = null) float and double arrays for the engine checkpoint; values are written exactly.</summary>
internal static class BinaryArrays
{
    public static void Write(BinaryWriter w, double[]? a)
    {
        w.Write(a?.Length ?? -1);
        if (a is not null)
        {
            foreach (var v in a)
            {
                w.Write(v);
            }
        }
    }

    public static void Write(BinaryWriter w, float[]? a)
    {
        w.Write(a?.Length ?? -1);
        if (a is not null)
        {
            foreach (var v in a)
            {
                w.Write(v);
            }
        }
    }

    public static double[]? ReadDoubles(BinaryReader r)
    {
        var n = Length(r, sizeof(double));
        if (n < 0)
        {
            return null;
        }

        var a = new double[n];
        for (var i = 0; i < n; i++)
        {
            a[i] = r.ReadDouble();
        }

        return a;
    }

    public static float[]? ReadFloats(BinaryReader r)
    {
        var n = Length(r, sizeof(float));
        if (n < 0)
        {
            return null;
        }

        var a = new float[n];
        for (var i = 0; i < n; i++)
        {
            a[i] = r.ReadSingle();
        }

        return a;
    }

    /// <summary>
    /// A count of items that each take at least <paramref name="bytesPerItem"/> bytes of what is left of the stream;
    /// a corrupt count would otherwise allocate (or loop over) gigabytes before failing.
    /// </summary>
    public static int Count(BinaryReader r, int bytesPerItem)
    {
        var n = r.ReadInt32();
        var left = r.BaseStream.CanSeek ? r.BaseStream.Length - r.BaseStream.Position : long.MaxValue;
        if (n < 0 || n > left / bytesPerItem)
        {
            throw new InvalidDataException($"The checkpoint is truncated or corrupt: a count of {n} at byte {r.BaseStream.Position - 4} where {left} bytes are left.");
        }

        return n;
    }

    // -1 marks a null array; any other length must fit in what is left of the stream.
    private static int Length(BinaryReader r, int elementSize)
    {
        var n = r.ReadInt32();
        var left = r.BaseStream.CanSeek ? r.BaseStream.Length - r.BaseStream.Position : long.MaxValue;
        if (n < -1 || n > left / elementSize)
        {
            throw new InvalidDataException($"The checkpoint is truncated or corrupt: an array length of {n} at byte {r.BaseStream.Position - 4}.");
        }

        return n;
    }
}
