using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

internal sealed partial class TwoStageScanLastFunction
{
    /// <summary>
    /// A layer's blocked inference plan, kept between calls while the operands it is formed from (A, V, v0, e, Bx, W)
    /// stay the same: a layer scoring batch after batch with the same weights forms the powers once instead of per call.
    /// </summary>
    /// <remarks>
    /// Why: forming the plan per call put its powers [D_m, L nz] (1.7 MB for psMNIST's rnn_cell), A^L and the squaring's
    /// temporaries into every call's peak (inference added 4-5 MiB against the PyTorch peer's 1). Kept, they are part of
    /// the layer's resident memory, as its weights are, shared by concurrent callers (<see cref="DerivedWeights{T}"/>:
    /// compared by value, leased). The comparison reads the operands once per call (about 0.2 MB), against the plan's
    /// L D_m^2 nz multiply-adds.
    /// </remarks>
    internal sealed class PlanCache : IDisposable
    {
        private readonly DerivedWeights<BlockedPlan> _plans = new();

        /// <summary>How many plans were formed (tests tell a reuse from a rebuild).</summary>
        public long Builds => _plans.Builds;

        /// <summary>The plan for these operands, formed when the kept one was formed from other values.</summary>
        internal DerivedWeights<BlockedPlan>.Lease Acquire(Operands o)
        {
            var sources = new List<Tensor> { o.A, o.V, o.Bx, o.W };
            if (o.V0 is not null) sources.Add(o.V0);
            if (o.E is not null) sources.Add(o.E);
            return _plans.Acquire((o.X.shape[2], o.A.dtype, o.A.device_type, o.A.device_index), sources, stale => BlockedPlan.Create(o, stale));
        }

        /// <inheritdoc />
        public void Dispose() => _plans.Dispose();
    }
}
