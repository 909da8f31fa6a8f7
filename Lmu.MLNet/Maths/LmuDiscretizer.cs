namespace Lmu.MLNet.Maths;

/// <summary>How the continuous Legendre system <c>theta * dm/dt = A m + B u</c> is turned into a discrete one with a time step of 1.</summary>
public enum LmuDiscretizer
{
    /// <summary>
    /// Zero-order hold: the input is held constant over each step and the linear system is integrated exactly,
    /// giving <c>Ad = expm(A / theta)</c> and <c>Bd = (A / theta)^-1 (Ad - I) B / theta</c>.
    /// </summary>
    Zoh = 0,

    /// <summary>
    /// Forward Euler: one explicit first-order step, giving <c>Ad = I + A / theta</c> and <c>Bd = B / theta</c>.
    /// Cheaper and close to <see cref="Zoh"/> when theta is large, but unstable below a theta that grows with the order
    /// (3.08 at order 3, 197 at 32, 6,542 at 256: the largest |lambda|^2 / (2 |Re lambda|) over A's eigenvalues), where
    /// the memory grows at every step. The layer, network and featurizer options refuse such a theta, naming the bound.
    /// A learned theta (<c>TrainableTheta</c>) that moves below it during training is not stopped.
    /// </summary>
    Euler = 1,
}
