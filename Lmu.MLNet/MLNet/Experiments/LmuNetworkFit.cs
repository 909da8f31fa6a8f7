using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Microsoft.ML;

namespace Lmu.MLNet.Experiments;

/// <summary>A trained LMU network (family <see cref="LmuModelFamily.LmuNetwork"/>); its model is the network exported to ONNX.</summary>
internal sealed class LmuNetworkFit(LmuNetwork network, int steps, IReadOnlyList<string> classNames, string featuresColumn, bool channelMajor) : LmuCandidateFit
{
    public override double Score(LmuExperimentData data, IReadOnlyList<int> rows, LmuExperimentMetric metric, CancellationToken cancellationToken) =>
        LmuTrialRunner.Score(network, data, rows, metric);

    public override ITransformer TakeModel(MLContext ml, IDataView input)
    {
        // The ONNX graph copies the weights, so the network itself stays with this object (and is disposed with it).
        var onnx = LmuOnnxExporter.Export(network.ToSpec(steps), OnnxCarrier.MulticlassExportOptions(featuresColumn, classNames).WithChannelMajor(channelMajor));
        // A context of its own, as the estimators' carriers have: the user's GpuDeviceId would ask ONNX Runtime's CPU
        // package for its CUDA provider, which it lacks, and fail after the whole search (found with FallbackToCpu = true).
        var carrier = OnnxCarrier.Context(ml.TempFilePath);
        return OnnxCarrier.CreateMulticlass(carrier, onnx, input, [featuresColumn], classNames);
    }

    public override void Dispose() => network.Dispose();
}
