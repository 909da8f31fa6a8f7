using Lmu.MLNet.Network;

namespace Lmu.MLNet.Onnx;

/// <summary>
/// The network part of every graph that scores an <see cref="LmuNetworkSpec"/> (the classifier's and standalone
/// export's <see cref="LmuOnnxExporter"/>, the forecaster's <c>LmuForecastOnnx</c>): the stack of LMU layers over an
/// input sequence, each layer in its own form, then the dense head. Callers build the inputs (reshape, alignment,
/// scaling) before it and the outputs after it, so a stack is written in one place.
/// </summary>
/// <remarks>
/// Layer i &gt; 0 reads layer i-1's output at every step, so every layer but the last produces its whole output
/// sequence: a feed-forward memory by one causal convolution (<see cref="LmuOnnxFeedForwardLayer.BuildSequence"/>),
/// any other by a Scan that emits its per-step values. The last layer is built for its last step only, as a single
/// layer always was. With an alignment mask every layer's memory input is zeroed on padded (leading) steps, so
/// padding never reaches a state, in any layer.
/// </remarks>
internal static class LmuOnnxNetwork
{
    /// <summary>What the network produced.</summary>
    /// <param name="Output">Raw outputs [N, OutputSize] (after the head).</param>
    /// <param name="LastLayer">
    /// The last LMU layer's last-step values (its output feeds the head), or null with a pooling readout, where the
    /// last layer is built as a sequence like the layers before it.
    /// </param>
    public sealed record Result(string Output, LmuOnnxLayerResult? LastLayer);

    /// <summary>Builds the layers and the head.</summary>
    /// <param name="g">Main graph.</param>
    /// <param name="spec">Validated network.</param>
    /// <param name="x3">Input sequence [N, T, InputSize] (aligned when <paramref name="mask"/> is given).</param>
    /// <param name="mask">Float [N, T, 1] of valid steps, or null when every step is valid.</param>
    /// <param name="valid">The same mask as bool [N, T, 1] (for the Scan form's Where), or null.</param>
    /// <param name="form">Requested form (applies to every layer; see <see cref="ChooseForm"/>).</param>
    /// <param name="lastSequences">Whether the last layer must emit its per-step memory and hidden sequences.</param>
    /// <param name="lastMemory">Whether the last layer's final memory is published (the folded Dense form never forms it).</param>
    public static Result Build(
        OnnxGraphBuilder g, LmuNetworkSpec spec, string x3, string? mask, string? valid, LmuOnnxForm form, bool lastSequences,
        bool lastMemory = false)
    {
        var steps = spec.SequenceLength;
        var pooled = spec.Readout != LmuReadout.LastStep;
        if (pooled && lastSequences)
        {
            // LmuOnnxExporter refuses this with the option names first; kept for other callers.
            throw new ArgumentException($"Per-step sequences of the last layer exist only with the last-step readout; this network has the {spec.Readout} readout.");
        }

        var input = x3;
        LmuOnnxLayerResult? last = null;
        for (var i = 0; i < spec.Layers.Count; i++)
        {
            var l = spec.Layers[i];
            var isLast = i == spec.Layers.Count - 1 && !pooled;
            var chosen = ChooseForm(l, form, isLast && lastSequences, spec.Layers.Count == 1 ? null : i, masked: mask is not null);
            if (isLast && chosen == LmuOnnxForm.FeedForward && mask is null && !lastMemory && LmuOnnxFoldedDenseLayer.Pays(l, steps))
            {
                last = LmuOnnxFoldedDenseLayer.Build(g, l, steps, input);
                continue;
            }

            if (chosen == LmuOnnxForm.Blocked)
            {
                // Reads the raw input: it encodes without bu itself (bu's response is a constant there).
                var blocked = l.MemoryIsFeedForward
                    ? LmuOnnxBlockedLayer.Build(g, l, steps, input, sequence: !isLast)
                    : LmuOnnxRecurrentBlockedLayer.Build(g, l, steps, input, sequence: !isLast);
                if (isLast)
                {
                    last = blocked;
                }
                else
                {
                    input = blocked.Output;
                }

                continue;
            }

            var ux = Encode(g, l, input, mask);
            if (isLast)
            {
                var xLast = LastStep(g, input, steps, l.InputSize);
                last = chosen switch
                {
                    LmuOnnxForm.FeedForward => LmuOnnxFeedForwardLayer.Build(g, l, steps, ux, xLast),
                    LmuOnnxForm.RecurrentOps => LmuOnnxRecurrentOpLayer.Build(g, l, steps, input, ux, sequence: false),
                    _ => LmuOnnxScanLayer.Build(g, l, input, ux, xLast, lastSequences, valid),
                };
            }
            else
            {
                input = chosen switch
                {
                    LmuOnnxForm.FeedForward => LmuOnnxFeedForwardLayer.BuildSequence(g, l, steps, input, ux),
                    LmuOnnxForm.RecurrentOps => LmuOnnxRecurrentOpLayer.Build(g, l, steps, input, ux, sequence: true).Output,
                    _ => ScanSequence(g, l, input, ux, LastStep(g, input, steps, l.InputSize), valid),
                };
            }
        }

        var y = pooled ? Readout(g, input, steps, spec.LastLayer.OutputSize, mask, valid, spec.Readout) : last!.Output;
        for (var i = 0; i < spec.Head.Count; i++)
        {
            y = LmuOnnxOps.Dense(g, g, y, spec.Head[i], $"head{i}");
        }

        return new Result(y, last);
    }

    /// <summary>
    /// The form one layer gets: Auto picks the loop-free feed-forward form where it is exact (and no per-step sequences
    /// are asked of it), else, without a length input or per-step sequences, the blocks (a feed-forward memory under a
    /// SimpleRnn cell: <see cref="LmuOnnxBlockedLayer"/>; a recurrent memory under a SimpleRnn, LSTM or Dense cell:
    /// <see cref="LmuOnnxRecurrentBlockedLayer"/>, within the sizes it writes), else Scan; FeedForward, RecurrentOps and Blocked insist on their
    /// form (every layer must allow it), Scan always loops.
    /// </summary>
    /// <remarks>
    /// Why the blocks in both layouts (ONNX Runtime 1.32, bench shapes, T 784, 1 thread): ff_rnn (2026-12-05), 100 rows
    /// in one run took 0.21 s against the Scan's 0.29 s (the RNN operators' 0.47 s); one row per run (ML.NET's
    /// OnnxTransformer) 3.1 ms against the RNN operators' 6.2 ms and the Scan's 10.1 ms. rnn_cell (2026-12-06), 100
    /// rows 0.18 s against the Scan's 0.29 s, one row per run 6.9 ms against 9.2 ms. Each loop runs fewer nodes per
    /// step, and the memory's products for many steps are one wide MatMul. The RNN operators stay as an explicit form.
    /// </remarks>
    /// <param name="l">The layer.</param>
    /// <param name="form">Requested form.</param>
    /// <param name="sequences">Whether per-step sequences (memory and hidden) are published from this layer.</param>
    /// <param name="index">The layer's index in a stack (for messages), null for a single layer.</param>
    /// <param name="masked">Whether the graph aligns variable-length rows (a length input).</param>
    public static LmuOnnxForm ChooseForm(LmuLayerSpec l, LmuOnnxForm form, bool sequences, int? index, bool masked = false)
    {
        var canFeedForward = LmuOnnxFeedForwardLayer.Supports(l);
        var truncated = l.ImpulseTruncation > 0;
        var canRecurrentOps = LmuOnnxRecurrentOpLayer.Supports(l) && !masked && !sequences && !truncated;
        var canBlocked = (LmuOnnxBlockedLayer.Supports(l) || LmuOnnxRecurrentBlockedLayer.Supports(l)) && !masked && !sequences;
        var which = index is { } i ? $" (layer {i} cannot)" : string.Empty;
        var layer = index is { } j ? $"layer {j}" : "the layer";
        if (truncated && (!canFeedForward || sequences || form is LmuOnnxForm.Scan or LmuOnnxForm.RecurrentOps or LmuOnnxForm.Blocked))
        {
            // A window over the last inputs has no recurrent state: the loops would keep the whole past.
            throw new ArgumentException(
                $"ImpulseTruncation = {l.ImpulseTruncation} ({layer}) is computed by the feed-forward form only, which needs a None or Dense hidden cell, " +
                $"no per-step sequences and the Auto or FeedForward form; this export asks for the {form} form with a {l.Hidden} cell{(sequences ? " and per-step sequences" : string.Empty)}.");
        }

        return form switch
        {
            LmuOnnxForm.FeedForward when !canFeedForward => throw new ArgumentException(
                $"The feed-forward form needs a memory without hidden-to-memory or memory-to-memory encoders and a None or Dense hidden cell{which}."),
            LmuOnnxForm.FeedForward when sequences => throw new ArgumentException("Per-step sequences exist only in the Scan form."),
            LmuOnnxForm.RecurrentOps when !canRecurrentOps => throw new ArgumentException(
                $"The RNN-operator form needs a memory without hidden-to-memory or memory-to-memory encoders, a SimpleRnn hidden cell, no length input and no per-step sequences{which}."),
            LmuOnnxForm.Blocked when !canBlocked => throw new ArgumentException(
                $"The blocked form needs a SimpleRnn hidden cell over a memory without hidden-to-memory or memory-to-memory encoders, or a SimpleRnn, LSTM or Dense cell over a recurrent memory of at most {LmuOnnxRecurrentBlockedLayer.MaxMemoryWidth} values (MemoryD x Order), and no length input or per-step sequences{which}."),
            LmuOnnxForm.Auto => canFeedForward && !sequences ? LmuOnnxForm.FeedForward
                : canBlocked ? LmuOnnxForm.Blocked
                : LmuOnnxForm.Scan,
            _ => form,
        };
    }

    // The pooling readouts over each row's valid steps: seq [N, T, F] -> mean [N, F], [mean, max] [N, 2F] or
    // [last, mean, max] [N, 3F]. Rows are right-aligned, so a row's last step is step T-1 and its valid steps are the
    // mask's ones (all steps without a mask). A row of length 0 (the classifier clamps lengths to [0, T]) has no
    // steps: it reads zeros rather than a padded step, 0/0 and -inf.
    private static string Readout(OnnxGraphBuilder g, string seq, int steps, int width, string? mask, string? valid, LmuReadout readout)
    {
        var pool = Pool(g, seq, mask, valid, readout == LmuReadout.Mean ? LmuReadout.Mean : LmuReadout.MeanAndMax);
        if (readout != LmuReadout.LastStepMeanAndMax)
        {
            return pool;
        }

        var last = LastStep(g, seq, steps, width);
        if (mask is not null)
        {
            var any = g.Op("Greater", [g.Op("ReduceSum", [mask, g.Int64s("last_axis", 1)], OnnxAttribute.Int("keepdims", 0)), g.Floats("last_zero", [0f])]);
            last = g.Op("Where", [any, last, g.Floats("last_zero", [0f])]);
        }

        return g.Op("Concat", [last, pool], OnnxAttribute.Int("axis", 1));
    }

    private static string Pool(OnnxGraphBuilder g, string seq, string? mask, string? valid, LmuReadout readout)
    {
        if (mask is null)
        {
            var whole = g.Op("ReduceMean", [seq], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0));
            return readout == LmuReadout.Mean
                ? whole
                : g.Op("Concat", [whole, g.Op("ReduceMax", [seq], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0))], OnnxAttribute.Int("axis", 1));
        }

        var axis = g.Int64s("pool_axis", 1);
        var sum = g.Op("ReduceSum", [g.Op("Mul", [seq, mask]), axis], OnnxAttribute.Int("keepdims", 0));
        var count = g.Op("ReduceSum", [mask, axis], OnnxAttribute.Int("keepdims", 0));              // [N, 1]
        var mean = g.Op("Div", [sum, g.Op("Max", [count, g.Floats("one", [1f])])]);
        if (readout == LmuReadout.Mean)
        {
            return mean;
        }

        var masked = g.Op("Where", [valid!, seq, g.Floats("minus_inf", [float.NegativeInfinity])]);
        var max = g.Op("ReduceMax", [masked], OnnxAttribute.Ints("axes", 1), OnnxAttribute.Int("keepdims", 0));
        var any = g.Op("Greater", [count, g.Floats("zero", [0f])]);
        max = g.Op("Where", [any, max, g.Floats("zero", [0f])]);
        return g.Op("Concat", [mean, max], OnnxAttribute.Int("axis", 1));
    }

    // The input at the last step (after alignment, the row's own last step): [N, T, C] -> [N, C].
    private static string LastStep(OnnxGraphBuilder g, string x3, int steps, int width) => g.Op("Reshape", [
        g.Op("Slice", [x3, g.Int64s("start", steps - 1), g.Int64s("end", steps), g.Int64s("axes", 1)]), g.Int64s("shape", -1, width)]);

    // u_t = x_t Ex + bu for all steps [N, T, MemoryD]; zero on padded steps, which must not drive the memory (with b_u
    // they would, even on a zero input, and a deeper layer's input is not zero there).
    private static string Encode(OnnxGraphBuilder g, LmuLayerSpec l, string x3, string? mask)
    {
        var ux = l.Ex is null ? x3 : g.Op("MatMul", [x3, g.Floats("E_x", l.Ex, l.InputSize, l.MemoryD)]);
        if (l.Bu is not null)
        {
            ux = g.Op("Add", [ux, g.Floats("b_u", l.Bu, l.MemoryD)]);
        }

        return mask is null ? ux : g.Op("Mul", [ux, mask]);
    }

    // A recurrent layer's output at every step [N, T, OutputSize], from a Scan that emits its per-step states.
    private static string ScanSequence(OnnxGraphBuilder g, LmuLayerSpec l, string x3, string ux, string xLast, string? valid)
    {
        var r = LmuOnnxScanLayer.Build(g, l, x3, ux, xLast, withSequences: true, valid);
        if (r.HiddenSequence is not null)
        {
            return r.HiddenSequence;
        }

        return l.InputToHidden ? g.Op("Concat", [r.MemorySequence!, x3], OnnxAttribute.Int("axis", 2)) : r.MemorySequence!;
    }
}
