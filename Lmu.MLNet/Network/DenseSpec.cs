namespace Lmu.MLNet.Network;

/// <summary>A dense map y = act(x W + b) with W stored row-major as [In, Out].</summary>
internal sealed class DenseSpec
{
    /// <summary>Input width.</summary>
    public required int In { get; init; }

    /// <summary>Output width.</summary>
    public required int Out { get; init; }

    /// <summary>Weights, row-major [In, Out] (so y = x W).</summary>
    public required float[] W { get; init; }

    /// <summary>Bias [Out], or null for none.</summary>
    public float[]? B { get; init; }

    /// <summary>Activation applied after the affine map.</summary>
    public LmuActivation Activation { get; init; } = LmuActivation.Identity;
}
