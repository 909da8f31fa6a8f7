using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// The backward pass over a chunk of <see cref="BlockLength"/> steps without the per-step D_m x D_m product: the
/// adjoint of the blocked forward form.
/// </summary>
/// <remarks>
/// Backwards from the chunk's last step (i = 0, 1, ...; step t1 - i), with Cm the memory gradient arriving from after
/// the chunk, gh(k) = dL/dpre at step t1 - k and gr(k) = gm(k) Bx^T the recurrent drive's gradient:
/// <code>
/// gm(i) = Cm (A^T)^i + sum_{k&lt;=i} gh(k) W^T (A^T)^(i-k) + sum_{k&lt;i} gr(k) e_m^T (A^T)^(i-1-k)
/// </code>
/// The steps read gm only through a few columns, gm Q with Q = [Bx^T, V^m^T] (gr, and the memory's share of dL/dX),
/// which come from Cm [(A^T)^i Q] once per chunk and from each step's gh and gr as soon as they are known (one product
/// per step adds their share to every later step's columns, U^T riding in the same product). The memory
/// gradient itself is formed once, at the chunk's start: Cm (A^T)^L + sum_k gh(k) W^T (A^T)^(L-k) + sum_k gr(k) e_m^T
/// (A^T)^(L-1-k). The weight gradients that pair gm with a narrow y (dL/dV's memory columns with X, dL/dv0's with 1,
/// dL/dBx with r) are sums over the chunk, sum_i y(i)^T gm(i), which the same expansion turns into products of
/// y^T Cm and of y^T gh, y^T gr summed along their lags. Why: per row and step the m A^T product (D_m^2
/// multiply-adds) leaves the serial loop and gh W^T becomes one wide product per chunk, as in the blocked inference.
/// dL/dA pairs gm with the whole memory, so a learned A keeps the step-by-step backward pass.
/// </remarks>
internal sealed partial class TwoStageScanLastFunction
{
    /// <summary>Whether the backward pass may take the blocked form (settable for tests and the bench; default true).</summary>
    internal static bool UseBlockedBackward { get; set; } = true;

    // Counts the chunks the blocked backward pass ran, so tests can tell that path ran.
    private static long _blockedBackwardChunks;

    internal static long BlockedBackwardChunks => Interlocked.Read(ref _blockedBackwardChunks);

    /// <summary>The matrices of the blocked backward pass, formed once per pass from the weights (L = <see cref="BlockLength"/>).</summary>
    private sealed class AdjointPlan : TensorOwner
    {
        /// <summary>Columns of gm the steps read: MemoryD for gr (with recurrent encoders), then C for dL/dX (when wanted).</summary>
        public long Q { get; private init; }

        /// <summary>Of <see cref="Q"/>, the gr columns (MemoryD, or 0 without recurrent encoders).</summary>
        public long Mem { get; private init; }

        /// <summary>[D_m, L q]: block i is (A^T)^i Q; null when q = 0.</summary>
        public Tensor? PowersQ { get; private set; }

        /// <summary>
        /// Per step i, [units, uw + L q]: U^T (uw = units columns; none without U), then block i' of W^T (A^T)^(i'-i) Q
        /// for i' &gt;= i (zero before): one product gives dL/dh_{t-1}'s share through U and gh(i)'s share in every
        /// later step's projection.
        /// </summary>
        public Tensor[] HiddenStep { get; private set; } = [];

        /// <summary>Per step i, [mem, L q]: block i' is e_m^T (A^T)^(i'-1-i) Q for i' &gt; i (zero up to i); empty without recurrent encoders.</summary>
        public Tensor[] DriveStep { get; private set; } = [];

        /// <summary>(A^T)^L [D_m, D_m].</summary>
        public Tensor PowerL { get; private set; } = null!;

        /// <summary>[L units, D_m]: block k is W^T (A^T)^(L-k).</summary>
        public Tensor HiddenEnd { get; private set; } = null!;

        /// <summary>[L mem, D_m]: block k is e_m^T (A^T)^(L-1-k); null without recurrent encoders.</summary>
        public Tensor? DriveEnd { get; private set; }

        /// <summary>[L D_m, D_m]: block i is (A^T)^i (for the weight sums).</summary>
        public Tensor Powers { get; private set; } = null!;

        /// <summary>[L units, D_m]: block j is W^T (A^T)^j (for the weight sums).</summary>
        public Tensor HiddenPowers { get; private set; } = null!;

        /// <summary>[L mem, D_m]: block j is e_m^T (A^T)^j (for the weight sums); null without recurrent encoders.</summary>
        public Tensor? DrivePowers { get; private set; }

        /// <summary>e_h^T [mem, units]; null without recurrent encoders.</summary>
        public Tensor? EhT { get; private set; }

        public static AdjointPlan Create(Operands o, bool wantsX)
        {
            const int l = BlockLength;
            long dm = o.Dm, units = o.Units, c = o.X.shape[2];
            long mem = o.E?.shape[1] ?? 0, q = mem + (wantsX ? c : 0);
            var plan = new AdjointPlan { Q = q, Mem = mem };
            try
            {
                using var scope = torch.NewDisposeScope();
                var aT = o.A.t();
                var wT = o.W.t();                                                        // [units, D_m]
                var emT = o.E?.narrow(0, 0, dm).t();                                    // [mem, D_m]
                var powers = new Tensor[l + 1];
                powers[0] = torch.eye(dm, dtype: o.A.dtype, device: o.A.device);
                for (int j = 1; j <= l; j++) powers[j] = powers[j - 1].mm(aT);
                plan.PowerL = plan.Keep(powers[l].contiguous());
                plan.Powers = plan.Keep(torch.cat(powers.Take(l).ToArray(), 0));
                var wPowers = powers.Select(p => wT.mm(p)).ToArray();                  // W^T (A^T)^j, j = 0..L
                plan.HiddenPowers = plan.Keep(torch.cat(wPowers.Take(l).ToArray(), 0));
                plan.HiddenEnd = plan.Keep(torch.cat(Enumerable.Range(0, l).Select(k => wPowers[l - k]).ToArray(), 0));
                Tensor[]? emPowers = null;
                if (emT is not null)
                {
                    emPowers = powers.Take(l).Select(p => emT.mm(p)).ToArray();       // e_m^T (A^T)^j, j = 0..L-1
                    plan.DrivePowers = plan.Keep(torch.cat(emPowers, 0));
                    plan.DriveEnd = plan.Keep(torch.cat(Enumerable.Range(0, l).Select(k => emPowers[l - 1 - k]).ToArray(), 0));
                    plan.EhT = plan.Keep(o.E!.narrow(0, dm, units).t().contiguous());
                }

                var uT = o.U?.t();
                if (q == 0)
                {
                    plan.HiddenStep = Enumerable.Range(0, l).Select(_ => plan.Keep(uT?.contiguous() ?? torch.zeros([units, 0], dtype: o.A.dtype, device: o.A.device))).ToArray();
                    return plan;
                }

                var columns = new List<Tensor>();
                if (mem > 0) columns.Add(o.Bx.t());
                if (wantsX) columns.Add(o.V.narrow(1, 0, dm).t());
                var qm = torch.cat(columns.ToArray(), 1);                              // [D_m, q]
                var powersQ = powers.Take(l).Select(p => p.mm(qm)).ToArray();         // (A^T)^i Q
                plan.PowersQ = plan.Keep(torch.cat(powersQ, 1));
                var hiddenQ = powersQ.Select(p => wT.mm(p)).ToArray();                // W^T (A^T)^j Q
                var driveQ = emPowers?.Select(p => p.mm(qm)).ToArray();              // e_m^T (A^T)^j Q
                long uw = uT is null ? 0 : units;
                plan.HiddenStep = new Tensor[l];
                plan.DriveStep = mem > 0 ? new Tensor[l] : [];
                for (int i = 0; i < l; i++)
                {
                    var step = torch.zeros([units, uw + (l * q)], dtype: o.A.dtype, device: o.A.device);
                    if (uT is not null) step.narrow(1, 0, units).copy_(uT);
                    for (int j = i; j < l; j++) step.narrow(1, uw + (j * q), q).copy_(hiddenQ[j - i]);
                    plan.HiddenStep[i] = plan.Keep(step);
                    if (driveQ is null) continue;
                    var drive = torch.zeros([mem, l * q], dtype: o.A.dtype, device: o.A.device);
                    for (int j = i + 1; j < l; j++) drive.narrow(1, j * q, q).copy_(driveQ[j - 1 - i]);
                    plan.DriveStep[i] = plan.Keep(drive);
                }

                return plan;
            }
            catch
            {
                plan.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// The backward pass over the chunk [t0, t0 + L): from <paramref name="carry"/> (dL/ds_{t0+L-1} from after the chunk)
    /// to dL/ds_{t0-1}, written back into it; <paramref name="gs"/> [L, B, D] gets [0, gh_t] for
    /// <see cref="Sums.Add"/>, whose memory-column terms this adds itself (dL/dX, dL/dV, dL/dv0, dL/dBx, dL/dE).
    /// </summary>
    /// <paramref name="starts"/>: the states are hidden states only, [L, B, units] (a blocked training pass); the
    /// terms that read the memory go to these sums instead, with the block's recurrent drives <paramref name="drives"/>.
    private static void BlockedBackwardChunk(Operands o, AdjointPlan plan, Sums sums, bool memoryColumns, Tensor before, Tensor states, Tensor carry, Tensor gs, long t0, Tensor bxT, Tensor derivative,
        BlockStartSums? starts = null, Tensor? drives = null)
    {
        const int l = BlockLength;
        using var scope = torch.NewDisposeScope();
        long batch = o.Batch, dm = o.Dm, units = o.Units, q = plan.Q, mem = plan.Mem;
        var cm = carry.narrow(1, 0, dm);
        var gh = torch.empty([batch, l * units], dtype: o.A.dtype, device: o.A.device);
        var gr = mem > 0 ? torch.empty([batch, l * mem], dtype: o.A.dtype, device: o.A.device) : null;
        var proj = q > 0 ? cm.mm(plan.PowersQ!) : null;                               // [B, L q], completed step by step
        long uw = o.U is null ? 0 : units;
        // Per step: [dL/dh_{t-1} through U, gh's share in the later projections] from one product.
        var step = torch.empty([batch, uw + (l * q)], dtype: o.A.dtype, device: o.A.device);
        var ch = carry.narrow(1, dm, units).clone();
        for (int i = 0; i < l; i++)
        {
            long f = l - 1 - i;                                                        // the step's index in the chunk
            var ghI = gh.narrow(1, i * units, units);
            ghI.copy_(ch);
            if (o.Act != LmuActivation.Identity)
            {
                LinearScanFunction.DerivativeInto(starts is null ? states[f].narrow(1, dm, units) : states[f], o.Act, derivative);
                ghI.mul_(derivative);
            }

            step.addmm_(ghI, plan.HiddenStep[i], 0, 1);
            if (proj is not null) proj.PlusInPlace(step.narrow(1, uw, l * q));
            ch = uw > 0 ? step.narrow(1, 0, units) : ch.zero_();
            if (gr is null) continue;

            // gr(i) = gm(i) Bx^T is now complete: its share in the later projections, and dL/dh_{t-1} through r_t.
            var grI = gr.narrow(1, i * mem, mem);
            grI.copy_(proj!.narrow(1, i * q, mem));
            proj.addmm_(grI, plan.DriveStep[i]);
            ch.addmm_(grI, plan.EhT!);
        }

        // gh_t in step order for Sums.Add, which sums every term that reads gh; the terms that read gm follow.
        gs.narrow(2, dm, units).copy_(gh.view(batch, l, units).flip(1).permute(1, 0, 2));
        sums.Add(o, before, states, gs, t0, bxT, hiddenOnly: true, memoryKept: starts is null);
        AddMemoryTerms(o, plan, sums, memoryColumns, before, states, cm, t0, gh, gr, proj, memoryKept: starts is null);
        starts?.Add(o, before, drives, t0, gh, gr);

        // dL/dm_{t0-1} and dL/dh_{t0-1}, written back into the carry (Cm is read before it is overwritten).
        var mNext = cm.mm(plan.PowerL);
        mNext.addmm_(gh, plan.HiddenEnd);
        if (gr is not null) mNext.addmm_(gr, plan.DriveEnd!);
        cm.copy_(mNext);
        carry.narrow(1, dm, units).copy_(ch);
        // As the step loop does every FlushInterval (= L) steps: vanishing gradients would turn subnormal.
        LinearScanFunction.FlushTiny(carry);
        Interlocked.Increment(ref _blockedBackwardChunks);
    }

    /// <summary>
    /// The chunk's weight-gradient terms that read gm: dL/dX's memory share gm_t V^m^T (the projections' last C
    /// columns), dL/dE from gr, and sum_t y_t^T gm_t for dL/dV's memory columns (y = X), dL/dv0's (y = 1) and dL/dBx
    /// (y = r).
    /// </summary>
    private static void AddMemoryTerms(Operands o, AdjointPlan plan, Sums sums, bool memoryColumns, Tensor before, Tensor states, Tensor cm, long t0, Tensor gh, Tensor? gr, Tensor? proj, bool memoryKept = true)
    {
        const int l = BlockLength;
        long batch = o.Batch, dm = o.Dm, q = plan.Q, mem = plan.Mem, c = o.X.shape[2], d = o.D;
        if (sums.X is not null)
        {
            for (int i = 0; i < l; i++) sums.X[t0 + l - 1 - i].PlusInPlace(proj!.narrow(1, (i * q) + mem, c));
        }

        // Without per-step memory the states are hidden states only [L, B, units].
        var sPrev = states.narrow(0, 0, l - 1).reshape(-1, memoryKept ? d : o.Units);
        if (sums.E is not null && gr is not null)
        {
            var grSteps = gr.view(batch, l, mem).flip(1).permute(1, 0, 2).contiguous();   // [L, B, mem] in step order
            // Without per-step memory, only the hidden rows here; BlockStartSums adds the memory rows.
            long from = memoryKept ? 0 : dm;
            var beforeRows = before.narrow(1, from, d - from);
            Sums.AddPrevious(sums.E.narrow(0, from, d - from), beforeRows, sPrev, grSteps[0], grSteps.narrow(0, 1, l - 1).reshape(-1, mem), 0, d - from, 0, mem);
        }

        if (sums.V is not null && memoryColumns) sums.V.narrow(1, 0, dm).PlusInPlace(Aggregate(plan, BackwardColumns(o.X.narrow(0, t0, l)), cm, gh, gr));
        if (sums.V0 is not null && memoryColumns)
        {
            var ones = torch.ones([batch, l], dtype: o.A.dtype, device: o.A.device);
            sums.V0.narrow(0, 0, dm).PlusInPlace(Aggregate(plan, ones, cm, gh, gr).squeeze(0));
        }

        if (sums.Bx is not null && o.E is not null)
        {
            if (!memoryKept) throw new InvalidOperationException("dL/dBx reads the per-step memory, which a blocked training pass does not keep.");
            // r_t = s_{t-1} E for the chunk's steps, in step order.
            var r = torch.cat([before.mm(o.E).unsqueeze(0), sPrev.mm(o.E).view(l - 1, batch, mem)], 0);
            sums.Bx.PlusInPlace(Aggregate(plan, BackwardColumns(r), cm, gh, gr));
        }
    }

    /// <summary>[L, B, n] in step order to [B, L n] with block i the chunk's i-th step from its end (the backward order).</summary>
    private static Tensor BackwardColumns(Tensor steps) => steps.flip(0).permute(1, 0, 2).reshape(steps.shape[1], -1);

    /// <summary>
    /// sum_i y(i)^T gm(i) [n, D_m] over the chunk, for y [B, L n] in backward order: the expansion of gm(i) (class
    /// remarks) gives sum_i (y(i)^T Cm) (A^T)^i + sum_j D_j W^T (A^T)^j + sum_j E_j e_m^T (A^T)^j with the lag sums
    /// D_j = sum_k y(k+j)^T gh(k) and E_j = sum_k y(k+j+1)^T gr(k).
    /// </summary>
    private static Tensor Aggregate(AdjointPlan plan, Tensor y, Tensor cm, Tensor gh, Tensor? gr)
    {
        const int l = BlockLength;
        long n = y.shape[1] / l, dm = cm.shape[1], units = gh.shape[1] / l;
        var yT = y.t();
        var sum = yT.mm(cm).view(l, n, dm).permute(1, 0, 2).reshape(n, l * dm).mm(plan.Powers);
        var pairs = yT.mm(gh).view(l, n, l, units);                                   // (i, k): y(i)^T gh(k)
        var lags = torch.cat(Enumerable.Range(0, l).Select(j => pairs.diagonal(-j, 0, 2).sum(dim: -1)).ToArray(), 1);
        sum.addmm_(lags, plan.HiddenPowers);
        if (gr is null) return sum;
        long mem = gr.shape[1] / l;
        var drivePairs = yT.mm(gr).view(l, n, l, mem);
        var driveLags = torch.cat(Enumerable.Range(0, l - 1).Select(j => drivePairs.diagonal(-(j + 1), 0, 2).sum(dim: -1)).ToArray(), 1);
        sum.addmm_(driveLags, plan.DrivePowers!.narrow(0, 0, (l - 1) * mem));
        return sum;
    }
}
