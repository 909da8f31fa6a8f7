namespace Lmu.MLNet.MLNet.Forecasting;

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
        var n = Length(r);
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
        var n = Length(r);
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

    // A corrupt length would otherwise allocate gigabytes before failing.
    private static int Length(BinaryReader r)
    {
        var n = r.ReadInt32();
        var left = r.BaseStream.CanSeek ? r.BaseStream.Length - r.BaseStream.Position : long.MaxValue;
        if (n < -1 || n > left / 4)
        {
            throw new InvalidDataException($"The checkpoint is truncated or corrupt: an array length of {n} at byte {r.BaseStream.Position - 4}.");
        }

        return n;
    }
}
