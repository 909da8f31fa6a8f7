using Microsoft.ML.OnnxRuntime;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// Helpers for the ExportOnnx tests: export through both public methods, check the documented signature, and score
/// one row per run with ONNX Runtime directly (no ML.NET), as the exported per-row graphs are meant to be used.
/// </summary>
internal static class ExportedOnnx
{
    /// <summary>An ONNX value's element type and shape as <see cref="NodeMetadata"/> reports them.</summary>
    public sealed record Value(Type ElementType, params int[] Dimensions);

    /// <summary>
    /// The model's bytes from <see cref="OnnxCarriedTransformer.ExportOnnx"/>, after checking that
    /// <see cref="OnnxCarriedTransformer.SaveOnnx"/> writes the same bytes.
    /// </summary>
    public static byte[] Export(OnnxCarriedTransformer model)
    {
        var path = Path.Combine(Path.GetTempPath(), $"lmu-export-{Guid.NewGuid():N}.onnx");
        try
        {
            model.ExportOnnx(path);
            var bytes = File.ReadAllBytes(path);
            using var stream = new MemoryStream();
            model.SaveOnnx(stream);
            CollectionAssert.AreEqual(bytes, stream.ToArray(), "SaveOnnx and ExportOnnx must write the same model");
            return bytes;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Asserts the session's inputs are exactly <paramref name="inputs"/> and its outputs exactly
    /// <paramref name="outputs"/> plus ML.NET's slot-name carrier output of <paramref name="slotNamesOf"/> (a
    /// classifier's Score, a featurizer's features).
    /// </summary>
    public static void AssertSignature(InferenceSession session, IReadOnlyDictionary<string, Value> inputs, IReadOnlyDictionary<string, Value> outputs, string? slotNamesOf = null)
    {
        AssertValues("input", session.InputMetadata, inputs);
        var expected = new Dictionary<string, Value>(outputs);
        if (slotNamesOf is not null)
        {
            // Documented as "ignore it": the LabelEncoder that gives an ML.NET column its SlotNames must reach an output.
            expected[$"mlnet.{slotNamesOf}.unusedOutput"] = new Value(typeof(long), 1, 1);
        }

        AssertValues("output", session.OutputMetadata, expected);
    }

    /// <summary>Scores one row: float inputs of the given shapes; returns each output as an owned OrtValue list.</summary>
    public static IDisposableReadOnlyCollection<OrtValue> Run(InferenceSession session, IReadOnlyList<(string Name, float[] Data, long[] Shape)> inputs, params string[] outputs)
    {
        var values = inputs.Select(i => OrtValue.CreateTensorValueFromMemory(i.Data, i.Shape)).ToList();
        try
        {
            using var options = new RunOptions();
            return session.Run(options, inputs.Select(i => i.Name).ToArray(), values, outputs);
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private static void AssertValues(string what, IReadOnlyDictionary<string, NodeMetadata> actual, IReadOnlyDictionary<string, Value> expected)
    {
        CollectionAssert.AreEquivalent(expected.Keys.ToArray(), actual.Keys.ToArray(), $"{what} names: {string.Join(", ", actual.Keys)}");
        foreach (var (name, value) in expected)
        {
            Assert.AreEqual(value.ElementType, actual[name].ElementType, $"{what} '{name}' element type");
            CollectionAssert.AreEqual(value.Dimensions, actual[name].Dimensions, $"{what} '{name}' shape [{string.Join(", ", actual[name].Dimensions)}]");
        }
    }
}
