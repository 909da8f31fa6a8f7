using TorchSharp;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>Process-wide settings for the test run.</summary>
[TestClass]
public static class TestAssemblySetup
{
    /// <summary>
    /// One torch thread: test tensors are small, and with two OpenMP threads a second busy process on a two-core
    /// machine makes every op wait on a descheduled thread (measured here: 15x slower per op).
    /// </summary>
    [AssemblyInitialize]
    public static void Initialise(TestContext context)
    {
        _ = context;
        torch.set_num_threads(1);
    }
}
