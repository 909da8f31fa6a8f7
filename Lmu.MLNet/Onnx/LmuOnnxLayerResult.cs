namespace Lmu.MLNet.Onnx;

/// <summary>Value names produced by building the LMU layer.</summary>
/// <param name="Output">Layer output at the last step [N, OutputSize].</param>
/// <param name="FinalMemory">Flattened memory at the last step [N, MemoryD*Order]; null where the folded Dense form never forms it.</param>
/// <param name="MemorySequence">Memory at every step [N, T, MemoryD*Order] (Scan form, when requested).</param>
/// <param name="HiddenSequence">h_t at every step [N, T, Units] (Scan form, when requested).</param>
internal sealed record LmuOnnxLayerResult(string Output, string? FinalMemory, string? MemorySequence, string? HiddenSequence);
