using Lmu.MLNet.Classification;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>Small, fast configurations for the classifier tests (a few seconds of training on one core).</summary>
internal static class ClassifierSetup
{
    /// <summary>Feed-forward memory with a Dense hidden cell: the parallel last-step path in torch, MatMul in ONNX.</summary>
    public static LmuClassifierOptions Parallel(int epochs = 10, int? seed = 7) => new()
    {
        Layer = new LmuLayerOptions { Order = 12, HiddenCell = HiddenCell.Dense, HiddenUnits = 16 },
        HeadHiddenSizes = [16],
        Training = new LmuTrainingOptions { Epochs = epochs, BatchSize = 16, LearningRate = 1e-2, Seed = seed },
    };

    /// <summary>Recurrent memory (hidden-to-memory) with a SimpleRnn cell: the fused scan in torch, blocks of 8 steps in ONNX.</summary>
    public static LmuClassifierOptions Recurrent(int epochs = 3, int? seed = 7) => new()
    {
        Layer = new LmuLayerOptions { Order = 8, HiddenCell = HiddenCell.SimpleRnn, HiddenUnits = 8, HiddenToMemory = true },
        Training = new LmuTrainingOptions { Epochs = epochs, BatchSize = 32, LearningRate = 1e-2, Seed = seed },
    };

    /// <summary>A context whose temp files go to <paramref name="tempDir"/>.</summary>
    public static MLContext Context(string tempDir, int? seed = 1) => new(seed) { TempFilePath = tempDir };

    /// <summary>Training rows with the label mapped to a key in class order (the conventional trainer pipeline).</summary>
    public static (IDataView Keyed, ITransformer LabelMap) Keyed(MLContext ml, IDataView rows)
    {
        var keyData = ml.Data.LoadFromEnumerable(DelayedPatternData.Classes.Select(c => new PatternTextPrediction { PredictedLabel = c }));
        var map = ml.Transforms.Conversion.MapValueToKey("Label", keyData: keyData).Fit(rows);
        return (map.Transform(rows), map);
    }
}
