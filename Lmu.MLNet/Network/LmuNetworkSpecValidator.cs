namespace Lmu.MLNet.Network;

/// <summary>Checks that a <see cref="LmuNetworkSpec"/>'s arrays agree with its sizes before anything is built from it.</summary>
internal static class LmuNetworkSpecValidator
{
    /// <summary>Throws <see cref="ArgumentException"/> naming the first inconsistency (and the layer, in a stack).</summary>
    public static void Validate(LmuNetworkSpec spec)
    {
        if (spec.SequenceLength < 1)
        {
            throw new ArgumentException("SequenceLength must be at least 1.");
        }

        if (spec.Layers is null || spec.Layers.Count == 0)
        {
            throw new ArgumentException("A network needs at least one LMU layer.");
        }

        for (var i = 0; i < spec.Layers.Count; i++)
        {
            var where = spec.Layers.Count == 1 ? string.Empty : $"Layers[{i}]: ";
            if (i > 0 && spec.Layers[i].InputSize != spec.Layers[i - 1].OutputSize)
            {
                throw new ArgumentException(
                    $"{where}InputSize is {spec.Layers[i].InputSize} but layer {i - 1} outputs {spec.Layers[i - 1].OutputSize} values per step.");
            }

            try
            {
                ValidateLayer(spec.Layers[i]);
            }
            catch (ArgumentException e) when (where.Length > 0)
            {
                throw new ArgumentException(where + e.Message, e);
            }
        }

        if (!Enum.IsDefined(spec.Readout))
        {
            throw new ArgumentException($"Readout {spec.Readout} is not one of {string.Join(", ", Enum.GetNames<LmuReadout>())}.");
        }

        var width = spec.ReadoutSize;
        for (var i = 0; i < spec.Head.Count; i++)
        {
            var d = spec.Head[i];
            if (d.In != width)
            {
                throw new ArgumentException($"Head[{i}] takes {d.In} inputs but receives {width}.");
            }

            ValidateDense(d, $"Head[{i}]");
            width = d.Out;
        }
    }

    /// <summary>Checks a weight array's length.</summary>
    public static void Require(float[]? a, int length, string what)
    {
        if (a is null)
        {
            throw new ArgumentException($"{what} is required.");
        }

        if (a.Length != length)
        {
            throw new ArgumentException($"{what} has {a.Length} values; expected {length}.");
        }
    }

    private static void ValidateLayer(LmuLayerSpec l)
    {
        var q = l.Order;
        var mw = l.MemoryD * q;
        if (l.InputSize < 1 || l.MemoryD < 1 || q < 1)
        {
            throw new ArgumentException("InputSize, MemoryD and Order must be positive.");
        }

        if (l.Ad.Length != q * q || l.Bd.Length != q)
        {
            throw new ArgumentException($"Ad must hold {q * q} values and Bd {q}.");
        }

        if (l.ImpulseTruncation < 0 || (l.ImpulseTruncation > 0 && !l.MemoryIsFeedForward))
        {
            throw new ArgumentException($"ImpulseTruncation {l.ImpulseTruncation} must be 0 or positive, and positive only for a memory without recurrent input.");
        }

        if (l.Ex is null && l.InputSize != l.MemoryD)
        {
            throw new ArgumentException("Without an input encoder InputSize must equal MemoryD.");
        }

        if (l.Ex is not null)
        {
            Require(l.Ex, l.InputSize * l.MemoryD, "Ex");
        }

        if (l.Bu is not null)
        {
            Require(l.Bu, l.MemoryD, "Bu");
        }

        if (l.Em is not null)
        {
            Require(l.Em, mw * l.MemoryD, "Em");
        }

        ValidateHidden(l);
    }

    private static void ValidateHidden(LmuLayerSpec l)
    {
        if (l.Hidden == HiddenCell.None)
        {
            if (l.Eh is not null)
            {
                throw new ArgumentException("A hidden-to-memory encoder needs a hidden cell.");
            }

            return;
        }

        if (l.Units < 1)
        {
            throw new ArgumentException("Units must be positive with a hidden cell.");
        }

        var gw = LmuLayerSpec.GatesOf(l.Hidden) * l.Units;
        var input = l.HiddenInput ?? throw new ArgumentException("HiddenInput is required with a hidden cell.");
        if (input.In != l.HiddenInputSize || input.Out != gw)
        {
            throw new ArgumentException($"HiddenInput must be [{l.HiddenInputSize}, {gw}], not [{input.In}, {input.Out}].");
        }

        ValidateDense(input, "HiddenInput");
        if (l.Eh is not null)
        {
            Require(l.Eh, l.Units * l.MemoryD, "Eh");
        }

        if (l.Hidden == HiddenCell.Dense)
        {
            return;
        }

        var rec = l.HiddenRecurrent ?? throw new ArgumentException($"HiddenRecurrent is required for {l.Hidden}.");
        if (rec.In != l.Units || rec.Out != gw)
        {
            throw new ArgumentException($"HiddenRecurrent must be [{l.Units}, {gw}], not [{rec.In}, {rec.Out}].");
        }

        ValidateDense(rec, "HiddenRecurrent");
    }

    private static void ValidateDense(DenseSpec d, string what)
    {
        Require(d.W, d.In * d.Out, what + ".W");
        if (d.B is not null)
        {
            Require(d.B, d.Out, what + ".B");
        }
    }
}
