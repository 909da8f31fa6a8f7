using TorchSharp;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>Proves the native backend loads on this host (the build patched libLibTorchSharp.so where needed).</summary>
[TestClass]
public sealed class TorchInitTests
{
    [TestMethod]
    public void TorchInitialisesAndComputes()
    {
        using var a = torch.arange(6, dtype: torch.float64).reshape(2, 3);
        using var p = a.matmul(a.t());
        // [[0,1,2],[3,4,5]] @ its transpose = [[5,14],[14,50]]
        Assert.AreEqual(5.0, p[0, 0].item<double>());
        Assert.AreEqual(14.0, p[0, 1].item<double>());
        Assert.AreEqual(50.0, p[1, 1].item<double>());
    }

    [TestMethod]
    public void MatrixExpRunsInNativeBackend()
    {
        using var z = torch.zeros(3, 3, dtype: torch.float64);
        using var e = torch.linalg.matrix_exp(z);
        using var eye = torch.eye(3, dtype: torch.float64);
        Assert.IsTrue(e.allclose(eye));
    }
}
