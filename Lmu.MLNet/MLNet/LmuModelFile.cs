using Microsoft.ML;

namespace Lmu.MLNet.MLNet;

/// <summary>Loading saved LMU models with clear errors. Touches no TorchSharp type, so it runs without libtorch.</summary>
public static class LmuModelFile
{
    /// <summary>
    /// <c>mlContext.Model.Load(path)</c>, but a missing, truncated or corrupted file raises
    /// <see cref="InvalidDataException"/> naming the file instead of ML.NET's internal error. The result is ML.NET's own
    /// TransformerChain; score it with <c>Transform</c> or a PredictionEngine.
    /// </summary>
    public static ITransformer Load(MLContext mlContext, string path, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"The model file '{path}' does not exist.", path);
        }

        return OnnxCarrier.Load(mlContext, path, out inputSchema);
    }
}
