using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>The pooling readouts of <see cref="LmuReadout"/> over a layer's output sequence.</summary>
internal static class ReadoutPool
{
    /// <summary>
    /// seq [B, T, F] (zero past each row's length), lengths optional int64 [B] -> [B, F] (Mean), [B, 2F]
    /// (MeanAndMax: mean first, then max) or [B, 3F] (LastStepMeanAndMax: the row's last step, then mean, then max),
    /// over each row's own steps.
    /// </summary>
    public static Tensor Apply(Tensor seq, Tensor? lengths, LmuReadout readout)
    {
        using var scope = NewDisposeScope();
        Tensor mean, max;
        if (lengths is null)
        {
            mean = seq.mean([1]);
            if (readout == LmuReadout.Mean) return mean.MoveToOuterDisposeScope();
            max = seq.amax([1]);
        }
        else
        {
            // Steps past a row's length are zero in seq, so the sum is the sum over the row's own steps.
            var count = lengths.to(seq.dtype).unsqueeze(1);
            mean = seq.sum([1]).div(count);
            if (readout == LmuReadout.Mean) return mean.MoveToOuterDisposeScope();
            // A zero past the length could exceed every real (negative) value: mask those steps out of the max.
            var steps = TorchScalars.Arange(seq.shape[1], seq.device).unsqueeze(0);
            var padded = steps.ge(lengths.to(int64).unsqueeze(1)).unsqueeze(2);
            max = seq.masked_fill(padded, TorchScalars.NegativeInfinity).amax([1]);
        }

        if (readout != LmuReadout.LastStepMeanAndMax) return cat([mean, max], 1).MoveToOuterDisposeScope();
        var last = lengths is null ? seq.select(1, -1) : LmuLayer.Gather(seq, lengths);
        return cat([last, mean, max], 1).MoveToOuterDisposeScope();
    }
}
