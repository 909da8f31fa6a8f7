using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

internal sealed partial class TwoStageScanLastFunction
{
    /// <summary>
    /// The matrices of one blocked pass, formed once from the weights (L = <see cref="BlockLength"/>, Z = [W, e_m],
    /// G = [Bx; V^m; v0^m] by rows; see <see cref="Blocked"/>). Owned by the pass and disposed with it.
    /// </summary>
    internal sealed class BlockedPlan : TensorOwner
    {
        // Counts the plans formed into a stale plan's tensors, so tests can tell that path ran.
        private static long _refills;

        internal static long Refills => Interlocked.Read(ref _refills);

        /// <summary>Columns of Z: the hidden units, then one per memory dimension when there are recurrent encoders.</summary>
        public long Nz { get; private init; }

        /// <summary>Recurrent drive columns (MemoryD), 0 without recurrent encoders.</summary>
        public long Mem { get; private init; }

        /// <summary>[D_m, L nz]: block j is A^(j+1) Z.</summary>
        public Tensor Powers { get; private set; } = null!;

        /// <summary>[L C, L nz]: block (i, j) is V^m A^(j-i) Z for j &gt;= i, plus [V^h, 0] on the diagonal.</summary>
        public Tensor Inputs { get; private set; } = null!;

        /// <summary>[L, nz]: row j is sum_{k&lt;=j} v0^m A^k Z + [v0^h, 0]; null without v0.</summary>
        public Tensor? Constant { get; private set; }

        /// <summary>[L MemoryD, nz]: block q is Bx A^(L-1-q) Z; null without recurrent encoders.</summary>
        public Tensor? Recurrent { get; private set; }

        /// <summary>e_m [D_m, MemoryD] and e_h [units, MemoryD]; null without recurrent encoders.</summary>
        public Tensor? Em { get; private set; }

        /// <inheritdoc cref="Em"/>
        public Tensor? Eh { get; private set; }

        /// <summary>A^L [D_m, D_m].</summary>
        public Tensor PowerL { get; private set; } = null!;

        /// <summary>[L C, D_m]: block i is V^m A^(L-1-i).</summary>
        public Tensor EndInputs { get; private set; } = null!;

        /// <summary>[L MemoryD, D_m]: block i is Bx A^(L-1-i); null without recurrent encoders.</summary>
        public Tensor? EndRecurrent { get; private set; }

        /// <summary>[D_m]: sum_{k&lt;L} v0^m A^k; null without v0.</summary>
        public Tensor? EndConstant { get; private set; }

        /// <summary>
        /// Forms the plan for <paramref name="o"/>: into <paramref name="reuse"/>'s tensors when it has this plan's shapes
        /// (a plan the weights have made stale, which the caller hands over: it is then refilled and returned, or
        /// disposed), else into new ones.
        /// </summary>
        public static BlockedPlan Create(Operands o, BlockedPlan? reuse = null)
        {
            const int l = BlockLength;
            long dm = o.Dm, units = o.Units, c = o.X.shape[2], bxRows = o.Bx.shape[0];
            long mem = o.E?.shape[1] ?? 0, nz = units + mem;
            bool refill = reuse is not null && reuse.Fits(o, nz, mem, c);
            if (!refill) reuse?.Dispose();
            if (refill) Interlocked.Increment(ref _refills);
            var plan = refill ? reuse! : new BlockedPlan { Nz = nz, Mem = mem };
            try
            {
                // Temporaries die with the scope; what the plan keeps is detached from it and owned by the plan.
                using var scope = torch.NewDisposeScope();
                var z = o.E is null ? o.W : torch.cat([o.W, o.E.narrow(0, 0, dm)], 1);
                var rows = new List<Tensor> { o.Bx, o.V.narrow(1, 0, dm) };
                if (o.V0 is not null) rows.Add(o.V0.narrow(0, 0, dm).unsqueeze(0));
                var g = torch.cat(rows, 0);
                // A^k Z written straight into the kept [D_m, L nz] matrix (no second copy of it while it is formed).
                var powers = refill ? plan.Powers : torch.empty([dm, l * nz], dtype: o.A.dtype, device: o.A.device);
                var az = new Tensor[l + 1];
                var ga = new Tensor[l];
                az[0] = z;
                ga[0] = g;
                for (int k = 1; k <= l; k++)
                {
                    az[k] = powers.narrow(1, (k - 1) * nz, nz);
                    Release(az[k].addmm_(o.A, az[k - 1], 0, 1), az[k]);
                }

                for (int k = 1; k < l; k++) ga[k] = ga[k - 1].mm(o.A);
                var gk = Enumerable.Range(0, l).Select(k => g.mm(az[k])).ToArray();

                if (!refill) plan.Powers = plan.Keep(powers);
                var inputs = refill ? plan.Inputs : torch.zeros([l * c, l * nz], dtype: o.A.dtype, device: o.A.device);
                if (refill) Release(inputs.zero_(), inputs);
                using (var vh = o.V.narrow(1, dm, units))
                {
                    for (int i = 0; i < l; i++)
                    {
                        for (int j = i; j < l; j++)
                        {
                            using var rowBlock = inputs.narrow(0, i * c, c);
                            using var block = rowBlock.narrow(1, j * nz, nz);
                            using var kx = gk[j - i].narrow(0, bxRows, c);
                            Release(block.copy_(kx), block);
                            if (i != j) continue;
                            using var hidden = block.narrow(1, 0, units);
                            Release(hidden.PlusInPlace(vh), hidden);
                        }
                    }
                }

                if (!refill) plan.Inputs = plan.Keep(inputs);
                if (o.V0 is not null)
                {
                    var kc = torch.cat(gk.Select(k => k.narrow(0, bxRows + c, 1)).ToArray(), 0).cumsum(0);   // [L, nz]
                    using var hidden = kc.narrow(1, 0, units);
                    using var v0h = o.V0.narrow(0, dm, units);
                    Release(hidden.PlusInPlace(v0h), hidden);
                    plan.Constant = plan.Put(plan.Constant, kc);
                    plan.EndConstant = plan.Put(plan.EndConstant, torch.cat(ga.Select(a => a.narrow(0, bxRows + c, 1)).ToArray(), 0).sum(dim: 0));   // dim named: sum(0) binds to sum(ScalarType?), a Byte total
                }

                if (o.E is not null)
                {
                    plan.Recurrent = plan.Put(plan.Recurrent, torch.cat(Enumerable.Range(0, l).Select(q => gk[l - 1 - q].narrow(0, 0, mem)).ToArray(), 0));
                    // Copies, not views: a refill writes into them, and E is the caller's.
                    plan.Em = plan.Put(plan.Em, o.E.narrow(0, 0, dm).clone());
                    plan.Eh = plan.Put(plan.Eh, o.E.narrow(0, dm, units).clone());
                    plan.EndRecurrent = plan.Put(plan.EndRecurrent, torch.cat(Enumerable.Range(0, l).Select(i => ga[l - 1 - i].narrow(0, 0, mem)).ToArray(), 0));
                }

                // A^L by squaring (L is a power of two), each square freed once the next is formed and the last written
                // straight into a refilled plan: at most two [D_m, D_m] temporaries (three and a copy before: 0.8 MB of
                // psMNIST's rnn_cell call after a weight change, whose blocks then add 0.7 MB).
                var power = o.A.mm(o.A);
                for (int p = 2; p < l; p *= 2)
                {
                    var next = p * 2 == l && refill ? plan.PowerL : torch.empty_like(power);
                    Release(next.addmm_(power, power, 0, 1), next);
                    power.Dispose();
                    power = next;
                }

                plan.PowerL = ReferenceEquals(power, plan.PowerL) ? power : plan.Put(plan.PowerL, power);
                plan.EndInputs = plan.Put(plan.EndInputs, torch.cat(Enumerable.Range(0, l).Select(i => ga[l - 1 - i].narrow(0, bxRows, c)).ToArray(), 0));
                return plan;
            }
            catch
            {
                plan.Dispose();
                throw;
            }
        }

        /// <summary>Whether this plan's tensors have the shapes, type and device a plan for these operands needs.</summary>
        private bool Fits(Operands o, long nz, long mem, long c)
            => Nz == nz && Mem == mem && Powers.shape[0] == o.Dm && Inputs.shape[0] == BlockLength * c
               && Powers.dtype == o.A.dtype && Powers.device_type == o.A.device_type && Powers.device_index == o.A.device_index
               && (Constant is null) == (o.V0 is null) && (Recurrent is null) == (o.E is null);

        /// <summary>A kept tensor's new value: copied into it when there is one (a refill), else taken as it is.</summary>
        private Tensor Put(Tensor? kept, Tensor value)
        {
            if (kept is null) return Keep(value);
            Release(kept.copy_(value), kept);
            return kept;
        }
    }
}
