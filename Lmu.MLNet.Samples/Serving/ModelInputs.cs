using Lmu.MLNet.Scoring;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// What a loaded model reads from its saved input schema, found by asking the model itself (its output schema fails
/// without a column it needs), so nothing depends on how the model was built. Touches no TorchSharp type.
/// </summary>
internal static class ModelInputs
{
    /// <summary>Column types a classifier's sequence-length column may have (those LmuClassifierOptions accepts).</summary>
    public static readonly DataViewType[] LengthTypes =
    [
        NumberDataViewType.Single, NumberDataViewType.Int32, NumberDataViewType.UInt32, NumberDataViewType.Int64,
    ];

    /// <summary>True when <paramref name="transformer"/> cannot produce its output schema from <paramref name="schema"/> without <paramref name="name"/>.</summary>
    public static bool Needs(ITransformer transformer, DataViewSchema schema, string name)
    {
        try
        {
            transformer.GetOutputSchema(Without(schema, name));
            return false;
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or ArgumentException or InvalidOperationException)
        {
            return true;
        }
    }

    /// <summary>The visible columns of <paramref name="schema"/> that <paramref name="model"/> cannot score without, in schema order.</summary>
    public static IReadOnlyList<string> Required(ITransformer model, DataViewSchema schema) =>
        schema.Where(c => !c.IsHidden && Needs(model, schema, c.Name)).Select(c => c.Name).ToArray();

    /// <summary>
    /// Steps T of a classifier whose features column <paramref name="features"/> holds <paramref name="width"/> values
    /// over <paramref name="channels"/> channels (the bound of a row's length); the message names the --channels option.
    /// </summary>
    public static int Steps(string features, int width, int channels) =>
        channels >= 1 && width % channels == 0
            ? width / channels
            : throw new InvalidDataException($"--channels {channels}: the features column '{features}' holds {width} values, which is not a positive multiple of it.");

    /// <summary>
    /// Input columns of a length type (other than <paramref name="features"/>) that an ONNX scorer inside
    /// <paramref name="model"/> reads directly: an LMU classifier trained with LengthColumnName feeds that column to its
    /// carried graph. Asking the ONNX scorer, not the whole chain, keeps a numeric label that an earlier
    /// MapValueToKey needs from being mistaken for a length.
    /// </summary>
    public static IReadOnlyList<string> OnnxLengthInputs(ITransformer model, DataViewSchema inputSchema, string features)
    {
        var candidates = inputSchema
            .Where(c => !c.IsHidden && c.Name != features && LengthTypes.Contains(c.Type))
            .ToArray();
        var found = new List<string>();
        var schema = inputSchema;
        foreach (var transformer in TransformerElements.Of(model))
        {
            // LmuModelFile.Load puts each ONNX scorer behind a guard; the guard scores as the scorer itself.
            if (transformer is OnnxTransformer or GuardedTransformer { Inner: OnnxTransformer })
            {
                // A candidate still carries its input values here when its visible column has the same type.
                found.AddRange(candidates
                    .Where(c => schema.GetColumnOrNull(c.Name) is { IsHidden: false } here && here.Type == c.Type && !found.Contains(c.Name))
                    .Where(c => Needs(transformer, schema, c.Name))
                    .Select(c => c.Name));
            }

            schema = transformer.GetOutputSchema(schema);
        }

        return found;
    }

    private static DataViewSchema Without(DataViewSchema schema, string name)
    {
        var builder = new DataViewSchema.Builder();
        foreach (var c in schema.Where(c => !c.IsHidden && c.Name != name))
        {
            builder.AddColumn(c.Name, c.Type, c.Annotations);
        }

        return builder.ToSchema();
    }
}
