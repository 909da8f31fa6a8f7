using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// Where the modules draw their initial values from while they are built on the calling thread, always in float32.
/// </summary>
/// <remarks>
/// Outside <see cref="Use"/> the draws come from torch's default generator, as TorchSharp's own modules draw (a user who
/// calls <c>torch.manual_seed</c> before building gets the same network as before). A Fit builds its network inside
/// <see cref="Use"/> with a generator of its own seed: torch's default generator is one per process, so a seeded Fit
/// beside any other code that drew random numbers (another library, the host's own torch code) got other initial
/// weights, and each Fit reseeded the host's generator (found by QA). A CPU generator seeded with s draws what the default
/// generator draws after <c>manual_seed(s)</c>, so seeded Fits keep their results. Float32 whatever torch's default
/// dtype: a host that had set float64 made every Fit fail at its first batch.
/// </remarks>
internal static class InitialDraws
{
    [ThreadStatic]
    private static Generator? t_generator;

    /// <summary>Until the result is disposed, modules built on this thread draw from <paramref name="generator"/>.</summary>
    public static IDisposable Use(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var previous = t_generator;
        t_generator = generator;
        return new Restore(previous);
    }

    /// <summary>A float32 tensor of <paramref name="shape"/> uniform in [-limit, limit].</summary>
    public static Tensor Uniform(double limit, params long[] shape) =>
        torch.empty(shape, dtype: float32).uniform_(-limit, limit, generator: t_generator);

    /// <summary>A float32 [rows, cols] tensor from N(0, std^2).</summary>
    public static Tensor Normal(long rows, long cols, double std) =>
        torch.empty(rows, cols, dtype: float32).normal_(0, std, generator: t_generator);

    /// <summary>A float32 [rows, cols] tensor from N(0, 1), as <c>torch.randn</c> draws it.</summary>
    public static Tensor StandardNormal(long rows, long cols) =>
        torch.randn(rows, cols, dtype: float32, generator: t_generator);

    /// <summary>
    /// A float32 Linear(inputs -> outputs) with the values and draw order of TorchSharp's <c>nn.Linear</c>: the weight
    /// uniform by Kaiming's rule for a leaky ReLU of slope sqrt(5) (bound sqrt(3) gain / sqrt(fan_in), libtorch's
    /// arithmetic), then the bias uniform in +-1/sqrt(fan_in).
    /// </summary>
    public static Linear Linear(long inputs, long outputs)
    {
        var gain = Math.Sqrt(2.0 / (1 + Math.Pow(Math.Sqrt(5), 2)));
        var weight = Uniform(Math.Sqrt(3.0) * (gain / Math.Sqrt(inputs)), outputs, inputs);
        var bias = Uniform(1 / Math.Sqrt(inputs), outputs);
        return nn.Linear(nn.Parameter(weight), nn.Parameter(bias));
    }

    private sealed class Restore(Generator? previous) : IDisposable
    {
        public void Dispose() => t_generator = previous;
    }
}
