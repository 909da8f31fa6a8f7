namespace Lmu.MLNet.Modules;

/// <summary>
/// The one rule for options that take a single <c>Layer</c> or a stack of <c>Layers</c> (the network, the classifier;
/// the forecaster applies it with its nullable layer): a non-empty <c>Layers</c> is the stack, input first; otherwise
/// the stack is the one <c>Layer</c>. Using both is an error (never a silent choice): <c>Layer</c> is shorthand for
/// <c>Layers = [Layer]</c>.
/// </summary>
/// <remarks>
/// An options class keeps one instance and routes its <c>Layer</c> property through <see cref="Get"/> and
/// <see cref="Set"/>: reading <c>Layer</c> while <c>Layers</c> is non-empty gives <c>Layers[0]</c>; otherwise it
/// hands out the single layer. The single layer counts as used when it was assigned or when its settings differ from a
/// new <see cref="LmuLayerOptions"/> (an edit through the getter), so that <c>o.Layer.Order = 8; o.Layers = [a, b];</c>
/// (whose first edit would be lost) is refused at validation like an assignment of both, while reading it (to log
/// the defaults, or to clone them as a stack's first layer) is not (found by QA: a read alone made Layers refused).
/// </remarks>
internal sealed class LmuLayerStack
{
    private static readonly System.Reflection.PropertyInfo[] Settings =
        typeof(LmuLayerOptions).GetProperties().Where(p => p.CanRead && p.CanWrite).ToArray();

    private LmuLayerOptions? _layer = new();
    private bool _assigned;

    /// <summary>The <c>Layer</c> property's value.</summary>
    public LmuLayerOptions Get(IReadOnlyList<LmuLayerOptions>? layers) => layers is { Count: > 0 } ? layers[0] : _layer!;

    /// <summary>Assigns the <c>Layer</c> property.</summary>
    public void Set(LmuLayerOptions value)
    {
        _layer = value;
        _assigned = true;
    }

    /// <summary>A copy for a cloned options object (the single layer cloned too).</summary>
    public LmuLayerStack Clone() => new() { _layer = _layer?.Clone(), _assigned = _assigned };

    /// <summary>
    /// Validates the pair and returns the stack (the caller's objects, not copies). Throws
    /// <see cref="ArgumentException"/> when both are used or an entry is null, <see cref="ArgumentNullException"/> for a
    /// null list or single layer.
    /// </summary>
    public IReadOnlyList<LmuLayerOptions> Resolve(OptionsGuard guard, IReadOnlyList<LmuLayerOptions>? layers) =>
        Resolve(guard, layers, _layer, _assigned || (_layer is not null && Edited(_layer)));

    // Whether any setting differs from a new LmuLayerOptions (every setting is a value type or an enum).
    private static bool Edited(LmuLayerOptions layer)
    {
        var fresh = new LmuLayerOptions();
        return Settings.Any(p => !Equals(p.GetValue(layer), p.GetValue(fresh)));
    }

    /// <summary>The rule for any pair: <paramref name="layerUsed"/> says whether the single layer was set (or edited).</summary>
    public static IReadOnlyList<LmuLayerOptions> Resolve(
        OptionsGuard guard, IReadOnlyList<LmuLayerOptions>? layers, LmuLayerOptions? layer, bool layerUsed)
    {
        guard.NotNull(layers, "Layers");
        if (layers.Count == 0)
        {
            guard.NotNull(layer, "Layer");
            return [layer];
        }

        guard.Require(!layerUsed, "Layers",
            $"and Layer are both used; Layer is shorthand for a one-layer stack (Layers = [Layer]): list every layer in Layers ({layers.Count} given) and leave Layer unset");
        for (var i = 0; i < layers.Count; i++)
        {
            guard.NotNull(layers[i], $"Layers[{i}]");
        }

        return layers;
    }
}
