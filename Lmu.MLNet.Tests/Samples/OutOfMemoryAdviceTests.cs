using Lmu.MLNet.Samples.Cli;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>The CLI's words for an OutOfMemoryException past the reader (the classify case runs end to end in CliEndToEndTests).</summary>
[TestClass]
public sealed class OutOfMemoryAdviceTests
{
    [TestMethod]
    public void TheArraySizeLimitIsNotCalledOutOfMemoryAndOnlyFileCommandsGetFileAdvice()
    {
        // Review: bike-sharing --order 70000 hit .NET's array size limit with 22 GB free and was told to split its file.
        var array = OutOfMemoryAdvice.Message("bike-sharing", "Array dimensions exceeded supported range.");
        StringAssert.StartsWith(array, "bike-sharing asked for an array larger than .NET allows (Array dimensions exceeded supported range");
        Assert.DoesNotContain("out of memory", array);
        Assert.DoesNotContain("file", array);

        var serve = OutOfMemoryAdvice.Message("serve", "Exception of type 'System.OutOfMemoryException' was thrown.");
        StringAssert.StartsWith(serve, "out of memory: serve needs more memory than this process may use");
        Assert.DoesNotContain("file", serve, "serve reads no data file");
        StringAssert.Contains(OutOfMemoryAdvice.Message("forecast", "Exception of type 'System.OutOfMemoryException' was thrown."), "Use a smaller or split file");
        Assert.DoesNotContain("padded", OutOfMemoryAdvice.Message("forecast", string.Empty), "only classify pads its rows");
        StringAssert.Contains(OutOfMemoryAdvice.Message("classify", string.Empty), "every row padded to the longest row's length");
    }
}
