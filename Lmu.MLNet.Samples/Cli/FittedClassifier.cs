using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// A model <c>lmu classify</c> trained: the transformer to save and score (it reads the raw <c>Label</c> text column
/// and writes <c>Score</c> and <c>PredictedLabel</c>), how to read its predicted class as text, its ONNX parts and its
/// training curve (networks only).
/// </summary>
/// <param name="Model">The whole pipeline, from the text label to the prediction.</param>
/// <param name="Description">One line: what was trained.</param>
/// <param name="PredictedClass">Scored data -> the predicted class of each row, as the label's text.</param>
/// <param name="Onnx">File name -> the standalone ONNX model of one stage.</param>
/// <param name="History">Epochs of a network (loss and accuracy per epoch), else null.</param>
internal sealed record FittedClassifier(
    ITransformer Model,
    string Description,
    Func<IDataView, string[]> PredictedClass,
    IReadOnlyList<(string File, OnnxCarriedTransformer Stage)> Onnx,
    IReadOnlyList<LmuEpochReport>? History) : IDisposable
{
    public void Dispose() => (Model as IDisposable)?.Dispose();
}
