using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// Zips written by an earlier release (Data/Legacy/mlnet-5.0.1: Microsoft.ML 5.0.1, ONNX Runtime 1.31.1) load with the
/// current packages and score the rows they scored then. Users keep their model files across upgrades.
/// </summary>
[TestClass]
public sealed class LegacyZipTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "Data", "Legacy", "mlnet-5.0.1");

    // The same graph and weights through another ONNX Runtime build: kernels may round differently in the last bits
    // (scores here are of order 1), but a misread weight or a changed graph moves them by far more than 1e-5.
    private const float Tolerance = 1e-5f;

    [TestMethod]
    public void ClassifierZipStillLoadsAndScoresTheSame()
    {
        var expected = Expected();
        var scores = Load("classifier.zip").Transform(ClassifierRows(expected)).GetColumn<float[]>("Score").ToArray();
        AssertClose(Matrix(expected, "classifierScore"), scores, "classifier Score");
    }

    [TestMethod]
    public void PooledRidgeZipStillLoadsAndScoresTheSame()
    {
        var expected = Expected();
        var scores = Load("pooled-ridge.zip").Transform(ClassifierRows(expected)).GetColumn<float[]>("Score").ToArray();
        AssertClose(Matrix(expected, "pooledScore"), scores, "pooled + ridge Score");
    }

    [TestMethod]
    public void ForecasterZipStillLoadsAndForecastsTheSame()
    {
        var expected = Expected();
        var windows = Matrix(expected, "forecastWindows");
        var view = new MLContext().Data.LoadFromEnumerable(windows.Select(w => new WindowRow { Window = w }));
        var scored = Load("forecaster.zip").Transform(view);
        AssertClose(Matrix(expected, "forecast"), scored.GetColumn<float[]>("Forecast").ToArray(), "Forecast");
        AssertClose(Matrix(expected, "lower"), scored.GetColumn<float[]>("Lower").ToArray(), "Lower");
    }

    private static ITransformer Load(string name)
    {
        var path = Path.Combine(Folder, name);
        Assert.IsTrue(File.Exists(path), $"{path} is missing from the test output (Lmu.MLNet.Tests.csproj copies Data/**)");
        return new MLContext(seed: 5).Model.Load(path, out _);
    }

    private static JsonElement Expected() => JsonDocument.Parse(File.ReadAllText(Path.Combine(Folder, "expected.json"))).RootElement;

    private static float[][] Matrix(JsonElement root, string name) =>
        root.GetProperty(name).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();

    private static IDataView ClassifierRows(JsonElement root) => new MLContext().Data.LoadFromEnumerable(
        root.GetProperty("classifierRows").EnumerateArray().Select(r => new SequenceRow
        {
            Features = r.GetProperty("Features").EnumerateArray().Select(v => v.GetSingle()).ToArray(),
            Label = r.GetProperty("Label").GetString()!,
        }));

    private static void AssertClose(float[][] expected, float[][] actual, string what)
    {
        Assert.HasCount(expected.Length, actual, what);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.HasCount(expected[i].Length, actual[i], $"{what} row {i}");
            for (var j = 0; j < expected[i].Length; j++)
            {
                Assert.AreEqual(expected[i][j], actual[i][j], Tolerance, $"{what} row {i} slot {j}");
            }
        }
    }

    private sealed class SequenceRow
    {
        [VectorType(16)]
        public float[] Features { get; set; } = [];

        public string Label { get; set; } = string.Empty;
    }

    private sealed class WindowRow
    {
        [VectorType(16)]
        public float[] Window { get; set; } = [];
    }
}
