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
    /// Cheaper and close to <see cref="Zoh"/> when theta is large, but unstable when theta is small relative to the order.
    /// </summary>
    Euler = 1,
}
