using Lmu.MLNet.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms.Onnx;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// ML.NET writes carried ONNX bytes to a random 8.3 temp name; one in 32,768 ends ".ort" and ONNX Runtime would parse
/// it as an ORT-format model ("model verification failed"). These tests name the file ".ort" on purpose, so the
/// failure is certain rather than rare: they show the hazard exists in the ONNX Runtime we ship with, that the
/// session option removes it, and that ML.NET applies the option our carrier sets on the context.
/// </summary>
[TestClass]
public sealed class OnnxLoadFormatTests
{
    private string _temp = string.Empty;

    [TestInitialize]
    public void MakeTempDir()
    {
        _temp = Path.Combine(Path.GetTempPath(), "lmu-ortname-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_temp);
    }

    [TestCleanup]
    public void RemoveTempDir() => Directory.Delete(_temp, recursive: true);

    [TestMethod]
    public void AnOnnxFileNamedOrtFailsByDefaultAndLoadsWithTheFormatFixed()
    {
        var path = WriteIdentityModel("abcdefgh.ort");

        // Without the option ONNX Runtime guesses the format from the extension: if this ever stops failing, the
        // workaround is no longer needed and this test says so.
        Assert.ThrowsExactly<OnnxRuntimeException>(() => new InferenceSession(path).Dispose());

        using var session = new InferenceSession(path, OnnxLoadFormat.Options);
        using var input = OrtValue.CreateTensorValueFromMemory(new[] { 1.5f, -2f, 3f }, [3]);
        using var results = session.Run(new RunOptions(), ["X"], [input], ["Y"]);
        CollectionAssert.AreEqual(new[] { 1.5f, -2f, 3f }, results[0].GetTensorDataAsSpan<float>().ToArray());
    }

    [TestMethod]
    public void TheCarrierFixesTheFormatForEveryLaterLoadOfItsContext()
    {
        var ml = Context();
        var path = WriteIdentityModel("abcdefgh.ort");
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { X = [1f, 2f, 3f] } });

        // A plain context: ML.NET hands the .ort name to ONNX Runtime as it is and the load fails.
        var plain = Context();
        Assert.Throws<Exception>(() => plain.Transforms.ApplyOnnxModel(["Y"], ["X"], path).Fit(data).Dispose());

        // After our carrier has run on the context, ML.NET builds every session of that context with the format fixed.
        using (OnnxCarrier.CreateMulticlass(ml, CarrierTestData.Model(), ml.Data.LoadFromEnumerable(CarrierTestData.Rows()), ["Features"], CarrierTestData.Classes))
        {
        }

        Assert.AreSame(OnnxLoadFormat.Options, ml.GetOnnxSessionOption().CreateSessionOptions!());
        using var fitted = ml.Transforms.ApplyOnnxModel(["Y"], ["X"], path).Fit(data);
        CollectionAssert.AreEqual(new[] { 1f, 2f, 3f }, fitted.Transform(data).GetColumn<float[]>("Y").Single());
    }

    [TestMethod]
    public void LmuModelFileLoadFixesTheFormatOfAFreshContext()
    {
        var ml = Context();
        var data = ml.Data.LoadFromEnumerable(CarrierTestData.Rows());
        var zip = Path.Combine(_temp, "model.zip");
        using (var chain = OnnxCarrier.CreateMulticlass(ml, CarrierTestData.Model(), data, ["Features"], CarrierTestData.Classes))
        {
            ml.Model.Save(chain, data.Schema, zip);
        }

        var fresh = Context();
        var loaded = LmuModelFile.Load(fresh, zip, out _);
        (loaded as IDisposable)?.Dispose();
        Assert.AreSame(OnnxLoadFormat.Options, fresh.GetOnnxSessionOption().CreateSessionOptions!());
    }

    [TestMethod]
    public void AContextThatAsksForAGpuIsLeftAlone()
    {
        // Our factory would replace ML.NET's GPU session set-up for every model of the context: not ours to decide.
        var ml = Context();
        ml.GpuDeviceId = 0;
        Assert.IsFalse(OnnxLoadFormat.Ensure(ml));
        Assert.IsNull(ml.GetOnnxSessionOption());
    }

    [TestMethod]
    public void ACallersOwnSessionOptionsAreKept()
    {
        var ml = Context();
        using var mine = new SessionOptions();
        var own = new OnnxSessionOptions { CreateSessionOptions = () => mine };
        ml.SetOnnxSessionOption(own);
        Assert.IsTrue(OnnxLoadFormat.Ensure(ml), "a caller's factory is theirs to configure; we report it as in charge");
        Assert.AreSame(own, ml.GetOnnxSessionOption());

        var threadsOnly = Context();
        var settings = new OnnxSessionOptions { IntraOpNumThreads = 1 };
        threadsOnly.SetOnnxSessionOption(settings);
        Assert.IsFalse(OnnxLoadFormat.Ensure(threadsOnly), "options without a factory leave ONNX Runtime guessing; say so");
        Assert.AreSame(settings, threadsOnly.GetOnnxSessionOption());
        Assert.IsNull(settings.CreateSessionOptions, "a caller's options are never rewritten");
    }

    private MLContext Context()
    {
        var dir = Path.Combine(_temp, "ml-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return new MLContext(seed: 1) { TempFilePath = dir };
    }

    private string WriteIdentityModel(string name)
    {
        var g = new OnnxGraphBuilder("identity");
        g.Input("X", OnnxElementType.Float, 3L);
        g.Add("Identity", ["X"], ["Y"], []);
        g.Output("Y", OnnxElementType.Float, 3L);
        var path = Path.Combine(_temp, name);
        File.WriteAllBytes(path, OnnxModelWriter.Write(g.Graph));
        return path;
    }

    private sealed class Row
    {
        [VectorType(3)]
        public float[] X { get; set; } = [];
    }
}
