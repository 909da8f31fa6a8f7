using Lmu.MLNet.Featurize;
using Lmu.MLNet.Ridge;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet.Featurize;

/// <summary>
/// The featurizers and the ridge classifier keep their graph copy (ML.NET's OnnxTransformer holds one while the model
/// lives) in the MLContext's TempFilePath, as the classifier and forecaster do: they wrote it to the system temp folder
/// whatever the context said, so a service that moved temp files off a small disk still filled it.
/// </summary>
[TestClass]
public sealed class TempFolderTests
{
    [TestMethod]
    public void TheCatalogsEstimatorsWriteWhereTheContextSays()
    {
        var folder = Directory.CreateTempSubdirectory("lmu-tempfolder-").FullName;
        try
        {
            var ml = new MLContext(seed: 1) { TempFilePath = folder };
            var rows = FeaturizerData.Random(12, 16, 1, seed: 3);
            for (var i = 0; i < rows.Count; i++) rows[i].Label = i % 2 == 0 ? "a" : "b";
            var data = FeaturizerData.Load(ml, rows, 16);

            using (ml.Transforms.LmuFeaturize("F", "Features").Fit(data))
            {
                Assert.HasCount(1, Directory.GetFiles(folder), "LmuFeaturize's graph copy");
            }

            Assert.IsEmpty(Directory.GetFileSystemEntries(folder), "released with the model");
            using (var pooled = ml.Transforms.LmuPooledFeaturize("P", "Features", windows: 4, projectionsPerWindow: 3).Fit(data))
            {
                Assert.HasCount(1, Directory.GetFiles(folder), "LmuPooledFeaturize's graph copy");
                var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(pooled.Transform(data));
                using var ridge = ml.MulticlassClassification.Trainers.Ridge(featureColumnName: "P").Fit(keyed);
                Assert.HasCount(2, Directory.GetFiles(folder), "and the ridge classifier's");
            }

            Assert.IsEmpty(Directory.GetFileSystemEntries(folder), "released with the models");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
