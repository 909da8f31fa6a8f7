namespace Lmu.MLNet.Network;

/// <summary>How many values a readout hands the head (shared by the modules, the spec and the ONNX writer).</summary>
internal static class ReadoutWidth
{
    /// <summary>Width of what <paramref name="readout"/> gives the head from a layer of <paramref name="width"/> outputs per step.</summary>
    public static int Of(LmuReadout readout, int width) => readout switch
    {
        LmuReadout.MeanAndMax => 2 * width,
        LmuReadout.LastStepMeanAndMax => 3 * width,
        _ => width,
    };
}
