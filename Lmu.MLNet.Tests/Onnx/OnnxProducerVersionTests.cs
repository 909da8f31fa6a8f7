using Google.Protobuf;
using Lmu.MLNet.Onnx;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>Every graph the library writes names the library's version (upgrade QA: nothing in a model zip said which version wrote it).</summary>
[TestClass]
public sealed class OnnxProducerVersionTests
{
    [TestMethod]
    public void AGraphNamesTheLibraryAndItsVersionAndStaysSealed()
    {
        var g = new OnnxGraphBuilder("identity");
        g.Input("X", OnnxElementType.Float, 1L);
        g.Add("Identity", ["X"], ["Y"], []);
        g.Output("Y", OnnxElementType.Float);
        var bytes = OnnxModelWriter.Write(g.Graph);

        var (name, version) = (string.Empty, string.Empty);
        var input = new CodedInputStream(bytes);
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 2: name = input.ReadString(); break;
                case 3: version = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }

        Assert.AreEqual("Lmu.MLNet", name);
        var informational = typeof(OnnxModelWriter).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().Single().InformationalVersion;
        Assert.AreEqual(informational, version);
        StringAssert.StartsWith(version, typeof(OnnxModelWriter).Assembly.GetName().Version!.ToString(3), "the package version leads it");
        Assert.IsTrue(OnnxIntegrity.Verify(bytes), "the seal covers the version too");
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(bytes);
        Assert.AreEqual("Lmu.MLNet", session.ModelMetadata.ProducerName);
    }
}
