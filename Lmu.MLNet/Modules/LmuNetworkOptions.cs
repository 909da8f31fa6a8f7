namespace Lmu.MLNet.Modules;

/// <summary>
/// LMU layers followed by a dense head: the network behind the classifier and the forecaster. One layer
/// (<see cref="Layer"/>) or a stack (<see cref="Layers"/>), where each layer reads the previous layer's output at
/// every step.
/// </summary>
public sealed class LmuNetworkOptions
{
    private static readonly OptionsGuard Guard = new("LMU option ");
    private LmuLayerStack _stack = new();

    /// <summary>
    /// The LMU layer of a one-layer network (shorthand for <c>Layers = [Layer]</c>). Default: a new
    /// <see cref="LmuLayerOptions"/> with its documented defaults. When <see cref="Layers"/> is non-empty this is
    /// <c>Layers[0]</c> (an edit through it edits the stack's first layer); assigning <c>Layer</c> as well as
    /// <c>Layers</c>, or editing it before <c>Layers</c> is set, is refused by <see cref="Validate"/>.
    /// </summary>
    public LmuLayerOptions Layer
    {
        get => _stack.Get(Layers);
        set => _stack.Set(value);
    }

    /// <summary>
    /// A stack of LMU layers, input first; empty (default) for the one <see cref="Layer"/>. Layer i &gt; 0 reads layer
    /// i-1's output sequence, so its <see cref="LmuLayerOptions.InputSize"/> must equal layer i-1's
    /// <see cref="LmuLayerOptions.OutputSize"/>. Each layer runs in its cheapest exact form (parallel when its memory has
    /// no recurrent input, the fused scan otherwise; see <see cref="LmuExecutionMode"/>). Default empty.
    /// </summary>
    public IReadOnlyList<LmuLayerOptions> Layers { get; set; } = [];

    /// <summary>
    /// What the head reads from the last layer's output sequence: its last step, or a pool over every step (see
    /// <see cref="LmuReadout"/>). Default <see cref="LmuReadout.LastStep"/>.
    /// </summary>
    public LmuReadout Readout { get; set; } = LmuReadout.LastStep;

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
        var layers = ResolveLayers();
        for (var i = 0; i < layers.Count; i++)
        {
            try
            {
                layers[i].Validate();
            }
            catch (ArgumentException e)
            {
                // Name the layer: "LMU option Order = 0 ..." alone does not say which layer of a stack is wrong, nor
                // that a single layer's setting is the Layer option's (its parameter name was the bare "Dropout"; QA).
                // The inner message without its own "(Parameter '...')": the new exception appends the full name.
                var path = Layers is { Count: > 0 } ? $"Layers[{i}]" : nameof(Layer);
                var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", string.Empty, StringComparison.Ordinal);
                throw new ArgumentException($"{path}: {message}", $"{path}.{e.ParamName}", e);
            }

            if (i > 0)
            {
                Guard.Require(layers[i].InputSize == layers[i - 1].OutputSize, $"Layers[{i}].InputSize", layers[i].InputSize,
                    $"must equal the output width of Layers[{i - 1}] ({layers[i - 1].OutputSize}), whose output sequence it reads");
            }
        }

        Guard.Require(OutputSize >= 1, nameof(OutputSize), OutputSize, "must be at least 1");
        Guard.Require(Enum.IsDefined(Readout), nameof(Readout), Readout, $"must be one of {string.Join(", ", Enum.GetNames<LmuReadout>())}");
        // Refused in the activation's own words at the first forward pass before ("Unknown activation"; found by QA).
        Guard.Require(Enum.IsDefined(HeadActivation), nameof(HeadActivation), HeadActivation, $"must be one of {string.Join(", ", Enum.GetNames<LmuActivation>())}");
        Guard.NotNull(HeadHiddenSizes, nameof(HeadHiddenSizes));
        foreach (var h in HeadHiddenSizes)
            Guard.Require(h >= 1, nameof(HeadHiddenSizes), $"contains {h}; every width must be at least 1");
        Guard.Require(HeadDropout is >= 0 and < 1, nameof(HeadDropout), HeadDropout, "must be in [0, 1)");
    }

    /// <summary>The layers the network has, input first (the caller's objects; see <see cref="LmuLayerStack"/>).</summary>
    internal IReadOnlyList<LmuLayerOptions> ResolveLayers() => _stack.Resolve(Guard, Layers);

    /// <summary>
    /// Sets the layers of a network an estimator builds: as <see cref="Layers"/> when the caller gave a stack, else as
    /// the one <see cref="Layer"/>, so that a refusal names the path the caller wrote (a single layer was named
    /// "Layers[0]"; found by QA).
    /// </summary>
    internal void UseLayers(IReadOnlyList<LmuLayerOptions> layers, bool asStack)
    {
        if (asStack || layers.Count != 1)
        {
            Layers = layers;
        }
        else
        {
            Layer = layers[0];
        }
    }

    /// <summary>A deep copy holding the resolved stack in <see cref="Layers"/> (call after <see cref="Validate"/>).</summary>
    internal LmuNetworkOptions Copy() => new()
    {
        Layers = ResolveLayers().Select(l => l.Clone()).ToArray(), HeadHiddenSizes = HeadHiddenSizes.ToArray(),
        HeadActivation = HeadActivation, HeadDropout = HeadDropout, OutputSize = OutputSize, Readout = Readout,
    };
}
