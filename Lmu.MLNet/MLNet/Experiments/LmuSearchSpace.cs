using Lmu.MLNet.Modules;

namespace Lmu.MLNet.Experiments;

/// <summary>
/// The model families and hyper-parameters an LMU experiment samples. Defaults suit short UCR-style series (tens to a
/// few hundred steps, tens to thousands of rows); narrow any range to fix a value (e.g. <c>Order = new(32, 32)</c>).
/// The ranges from <see cref="Order"/> to <see cref="Epochs"/> are the LMU network's; <see cref="PooledRidge"/> holds
/// the pooled-memory + ridge family's.
/// </summary>
public sealed class LmuSearchSpace
{
    /// <summary>
    /// The model families to search (as AutoML's list of trainers); remove one to exclude it. Default both
    /// <see cref="LmuModelFamily.LmuNetwork"/> and <see cref="LmuModelFamily.PooledRidge"/>.
    /// </summary>
    public IReadOnlyList<LmuModelFamily> Families { get; set; } = [LmuModelFamily.LmuNetwork, LmuModelFamily.PooledRidge];

    /// <summary>Ranges of the pooled-memory + ridge family. Default: see <see cref="LmuPooledRidgeSearchSpace"/>.</summary>
    public LmuPooledRidgeSearchSpace PooledRidge { get; set; } = new();

    /// <summary>The largest network <see cref="Order"/> a search may sample.</summary>
    public const int MaxNetworkOrder = 512;

    /// <summary>Legendre order, at most <see cref="MaxNetworkOrder"/>. Default 8..64, log scale.</summary>
    public LmuIntRange Order { get; set; } = new(8, 64, LogScale: true);

    /// <summary>Theta as a fraction of the sequence length. Default 0.5..1.</summary>
    public LmuDoubleRange ThetaFraction { get; set; } = new(0.5, 1.0);

    /// <summary>Memory dimensions (encoded input channels). Default 1..8, log scale.</summary>
    public LmuIntRange MemoryD { get; set; } = new(1, 8, LogScale: true);

    /// <summary>Hidden units. Default 16..128, log scale.</summary>
    public LmuIntRange HiddenUnits { get; set; } = new(16, 128, LogScale: true);

    /// <summary>Hidden cells to choose from, uniformly. Default Dense and SimpleRnn.</summary>
    public IReadOnlyList<HiddenCell> Cells { get; set; } = [HiddenCell.Dense, HiddenCell.SimpleRnn];

    /// <summary>Adam learning rate. Default 1e-3..3e-2, log scale.</summary>
    public LmuDoubleRange LearningRate { get; set; } = new(1e-3, 3e-2, LogScale: true);

    /// <summary>Dropout on each layer's input x_t before it is encoded (<see cref="LmuLayerOptions.Dropout"/>). Default 0..0.3.</summary>
    public LmuDoubleRange Dropout { get; set; } = new(0, 0.3);

    /// <summary>Epochs of a fully trained configuration (the last successive-halving rung). Default 20..80.</summary>
    public LmuIntRange Epochs { get; set; } = new(20, 80);

    /// <summary>A copy with its own lists and pooled space (a null stays null, for <see cref="Validate"/> to name).</summary>
    internal LmuSearchSpace Clone()
    {
        var copy = (LmuSearchSpace)MemberwiseClone();
        copy.Families = Families?.ToArray()!;
        copy.Cells = Cells?.ToArray()!;
        copy.PooledRidge = PooledRidge?.Clone()!;
        return copy;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad range.</summary>
    public void Validate()
    {
        if (Families is null || Families.Count == 0 || Families.Any(f => !Enum.IsDefined(f)))
        {
            throw new ArgumentException("LmuSearchSpace.Families must hold at least one declared LmuModelFamily.", nameof(Families));
        }

        if (PooledRidge is null)
        {
            throw new ArgumentException("LmuSearchSpace.PooledRidge must not be null.", nameof(PooledRidge));
        }

        PooledRidge.Validate();
        Order.Validate(nameof(Order), 1);
        if (Order.Max > MaxNetworkOrder && Includes(LmuModelFamily.LmuNetwork))
        {
            // A network's memory is discretised by a q x q matrix exponential that no budget or token can interrupt:
            // order 1,500 took 214 s past a 5 s budget, 5,000 over 32 minutes (QA).
            throw new ArgumentException(
                $"LmuSearchSpace.Order must lie in [1, {MaxNetworkOrder}] but is [{Order.Min}, {Order.Max}]: each network's order-q memory is built by a q x q " +
                "matrix exponential that the budget cannot interrupt (order 1,500 took minutes). For a larger order, train an LmuClassifier with that Order directly.",
                nameof(Order));
        }

        ThetaFraction.Validate(nameof(ThetaFraction), 1e-6, 1e6);
        MemoryD.Validate(nameof(MemoryD), 1);
        HiddenUnits.Validate(nameof(HiddenUnits), 1);
        LearningRate.Validate(nameof(LearningRate), 1e-9, 10);
        Dropout.Validate(nameof(Dropout), 0, 0.95);
        Epochs.Validate(nameof(Epochs), 1);
        if (Cells is null || Cells.Count == 0 || Cells.Any(c => !Enum.IsDefined(c)))
        {
            throw new ArgumentException("LmuSearchSpace.Cells must hold at least one declared HiddenCell.", nameof(Cells));
        }
    }

    /// <summary>True when <paramref name="family"/> is searched.</summary>
    internal bool Includes(LmuModelFamily family) => Families.Contains(family);

    /// <summary>One network configuration; the draws happen in a fixed order so a seed fixes the whole sequence.</summary>
    internal LmuTrialConfiguration Sample(Random rng, int sequenceLength) => new(
        Order.Sample(rng),
        Math.Max(1e-3, Math.Round(ThetaFraction.Sample(rng) * sequenceLength, 3)),
        MemoryD.Sample(rng),
        HiddenUnits.Sample(rng),
        Cells[rng.Next(Cells.Count)],
        LearningRate.Sample(rng),
        Dropout.Sample(rng),
        Epochs.Sample(rng));
}
