using System.IO.Compression;
using System.Text;
using Lmu.MLNet.Classification;
using Lmu.MLNet.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Classification;

/// <summary>
/// The multiclass chain is made of ML.NET's own transforms: its zip names no assembly of ours (the loader would
/// otherwise need Lmu.MLNet.dll), and PredictedLabel is still a scalar key with the class names as KeyValues, equal to
/// the arg-max of Score. Fast companion of <see cref="MlNetOnlyConsumerTests"/>.
/// </summary>
[TestClass]
public sealed class ClassifierZipContentsTests : ClassifierTestBase
{
    // ML.NET writes the strings of a Model.key (loader signatures, CustomMapping's contract and assembly names) as UTF-16.
    private static readonly byte[] OurAssembly = Encoding.Unicode.GetBytes("Lmu.MLNet");

    [TestMethod]
    public void TheZipNamesNoAssemblyOfOursWhileTheLegacyZipDid()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(CarrierTestData.Rows());
        var zip = Path.Combine(Temp, "model.zip");
        using (var chain = OnnxCarrier.CreateMulticlass(ml, CarrierTestData.Model(), data, ["Features"], CarrierTestData.Classes))
        {
            ml.Model.Save(chain, data.Schema, zip);
        }

        CollectionAssert.AreEqual(Array.Empty<string>(), EntriesNamingUs(zip), "Model.key entries that name Lmu.MLNet");
        // The check itself sees the reference the old CustomMapping route wrote.
        var legacy = Path.Combine(AppContext.BaseDirectory, "Data", "Legacy", "mlnet-5.0.1", "classifier.zip");
        Assert.IsNotEmpty(EntriesNamingUs(legacy), "the legacy zip holds the CustomMapping factory's assembly name");
        AssertNoTempFiles();
    }

    [TestMethod]
    public void PredictedLabelIsAScalarKeyWithTheClassNamesEqualToTheArgMaxOfScore()
    {
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(CarrierTestData.Rows());
        using var chain = OnnxCarrier.CreateMulticlass(ml, CarrierTestData.Model(), data, ["Features"], CarrierTestData.Classes);
        var scored = chain.Transform(data);

        var column = scored.Schema["PredictedLabel"];
        var key = column.Type as KeyDataViewType;
        Assert.IsNotNull(key, $"PredictedLabel is {column.Type}");
        Assert.AreEqual((ulong)CarrierTestData.Classes.Length, key.Count);
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetKeyValues(ref names);
        CollectionAssert.AreEqual(CarrierTestData.Classes, names.DenseValues().Select(n => n.ToString()).ToArray());
        // Only the native outputs remain (the input columns, Score and PredictedLabel).
        CollectionAssert.AreEqual(
            new[] { "Label", "Features", "Score", "PredictedLabel" }, scored.Schema.Where(c => !c.IsHidden).Select(c => c.Name).ToArray());

        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();
        for (var i = 0; i < keys.Length; i++)
        {
            Assert.AreEqual((uint)(Array.IndexOf(scores[i], scores[i].Max()) + 1), keys[i], $"row {i}");
        }
    }

    [TestMethod]
    public void ManyClassIndexesHashToDistinctValues()
    {
        var (_, hashes) = SlotToScalarKey.DistinctHashes(new MLContext(1), 5000);
        Assert.AreEqual(5000, hashes.Distinct().Count());
        Assert.IsFalse(hashes.Contains(0u));
    }

    [TestMethod]
    public void ClassNamesThatTextHashingWouldConfuseStayDistinct()
    {
        // ML.NET's text hash trims spaces: hashing the names instead of the indexes would merge these two classes.
        string[] classes = ["a", " a", "b"];
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(CarrierTestData.Rows());
        using var chain = OnnxCarrier.CreateMulticlass(ml, CarrierTestData.Model(), data, ["Features"], classes);
        var scored = chain.Transform(data);
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var keys = scored.GetColumn<uint>("PredictedLabel").ToArray();
        Assert.IsGreaterThan(1, keys.Distinct().Count(), "the rows must cover several classes");
        for (var i = 0; i < keys.Length; i++)
        {
            Assert.AreEqual((uint)(Array.IndexOf(scores[i], scores[i].Max()) + 1), keys[i], $"row {i}");
        }
    }

    /// <summary>
    /// Why SlotToScalarKey exists (a canary: when ML.NET can read a rank-0 ONNX output, this fails and a plain
    /// ONNX scalar + MapValueToKey becomes possible): ML.NET 6.0.0's OnnxTransformer types a rank-0 output as a scalar
    /// but its getter throws (OnnxTransform.Mapper.MakeObjectGetter: AsEnumerable of a tensor is null, then Select).
    /// </summary>
    [TestMethod]
    public void OnnxTransformerStillCannotReadARankZeroOutput()
    {
        var g = new OnnxGraphBuilder("rank0");
        g.Input("X", OnnxElementType.Float, 1L);
        g.Add("Reshape", ["X", g.Int64s("shape")], ["Y"], []);
        g.Output("Y", OnnxElementType.Float);
        var path = Path.Combine(Temp, "rank0.onnx");
        File.WriteAllBytes(path, OnnxModelWriter.Write(g.Graph));
        var ml = ClassifierSetup.Context(MlTemp);
        var data = ml.Data.LoadFromEnumerable(new[] { new OneSlot { X = [3f] } });
        using var onnx = ml.Transforms.ApplyOnnxModel(["Y"], ["X"], path).Fit(data);
        var scored = onnx.Transform(data);
        Assert.AreEqual(NumberDataViewType.Single, scored.Schema["Y"].Type, "a rank-0 output is typed as a scalar");
        var e = Assert.Throws<Exception>(() => scored.GetColumn<float>("Y").ToArray());
        Assert.IsInstanceOfType<ArgumentNullException>(e.GetBaseException(), e.ToString());
    }

    private sealed class OneSlot
    {
        [VectorType(1)]
        public float[] X { get; set; } = [];
    }

    private static string[] EntriesNamingUs(string zip)
    {
        using var archive = ZipFile.OpenRead(zip);
        return archive.Entries.Where(e => e.Name == "Model.key").Where(e =>
        {
            using var s = e.Open();
            using var m = new MemoryStream();
            s.CopyTo(m);
            return m.ToArray().AsSpan().IndexOf(OurAssembly) >= 0;
        }).Select(e => e.FullName).ToArray();
    }
}
