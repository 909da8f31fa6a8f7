namespace Lmu.MLNet.Modules;

/// <summary>How <see cref="LmuLayer"/> evaluates a sequence. All modes compute the same function.</summary>
public enum LmuExecutionMode
{
    /// <summary>
    /// Parallel (convolution) form when the memory has no recurrent input and no state is passed in; otherwise the
    /// fused recurrent scan where it applies; otherwise the step-by-step cell.
    /// </summary>
    Auto,

    /// <summary>Always the step-by-step cell (the reference formulation; slowest).</summary>
    Cell,

    /// <summary>The fused recurrent scan (one matrix product per step with a hand-written backward pass).</summary>
    FusedScan,

    /// <summary>The parallel form; throws if the configuration has recurrent connections into the memory.</summary>
    Parallel,
}
