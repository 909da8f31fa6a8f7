namespace Lmu.MLNet.Modules;

/// <summary>An LMU layer followed by a dense head: the network behind the classifier and the forecaster.</summary>
public sealed class LmuNetworkOptions
{
    private static readonly OptionsGuard Guard = new("LMU option ");

    /// <summary>The LMU layer.</summary>
    public LmuLayerOptions Layer { get; set; } = new();

    /// <summary>Widths of hidden dense layers between the LMU output and the final layer. Default none.</summary>
    public IReadOnlyList<int> HeadHiddenSizes { get; set; } = [];

    /// <summary>Activation of the head's hidden layers. Default <see cref="LmuActivation.Relu"/>.</summary>
    public LmuActivation HeadActivation { get; set; } = LmuActivation.Relu;

    /// <summary>Dropout before each head layer (training only). Default 0.</summary>
    public double HeadDropout { get; set; }

    /// <summary>Width of the raw output (classes, or forecast horizon). Required.</summary>
    public int OutputSize { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting and its value.</summary>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Layer, nameof(Layer));
        Layer.Validate();
        Guard.Require(OutputSize >= 1, nameof(OutputSize), OutputSize, "must be at least 1");
        foreach (var h in HeadHiddenSizes)
            Guard.Require(h >= 1, nameof(HeadHiddenSizes), $"contains {h}; every width must be at least 1");
        Guard.Require(HeadDropout is >= 0 and < 1, nameof(HeadDropout), HeadDropout, "must be in [0, 1)");
    }
}
