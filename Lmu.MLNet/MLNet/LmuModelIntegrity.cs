namespace Lmu.MLNet;

/// <summary>What the integrity check of a model zip's carried ONNX graphs found (a mismatch is an error, not a value).</summary>
public enum LmuModelIntegrity
{
    /// <summary>
    /// Every carried graph has a SHA-256 seal written at save and its bytes match it. The seal covers each graph's own
    /// bytes, not which zip it was saved in: a whole graph moved from another model's zip still verifies (QA), and then
    /// fails at scoring if its inputs differ, or scores as that other model if they do not. Keep model files where only
    /// their writer can replace them.
    /// </summary>
    Verified,

    /// <summary>
    /// At least one carried graph has no seal: a model saved before seals were written (or an ONNX graph from another
    /// tool). It loads, but damage to its bytes cannot be told from the original.
    /// </summary>
    Unsealed,

    /// <summary>The zip carries no ONNX graph (not a model of this library); nothing to verify.</summary>
    NoGraph,
}
