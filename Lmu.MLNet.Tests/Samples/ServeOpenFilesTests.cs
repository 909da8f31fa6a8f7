using System.Diagnostics;
using Lmu.MLNet.Samples.Serving;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// <c>serve</c> under an open-files limit (limits QA: at a hard limit of 256 or 1,024 many clients made the service
/// answer 500 "OutOfMemoryException" and abort with "Out of memory.", or stay up answering nothing): connections are
/// capped at what the limit leaves, and a limit that leaves too few is refused at the start, naming it.
/// </summary>
[TestClass]
public sealed class ServeOpenFilesTests : ClassifierTestBase
{
    [TestMethod]
    public void TheSoftLimitIsReadFromProcAndLeavesRoomForTheRuntime()
    {
        const string Limits = "Limit                     Soft Limit           Hard Limit           Units     \n" +
                              "Max processes             95514                95514                processes \n" +
                              "Max open files            1024                 4096                 files     \n";
        Assert.AreEqual(1024, OpenFiles.SoftLimit(Limits));
        Assert.IsNull(OpenFiles.SoftLimit(Limits.Replace("1024                 4096", "unlimited            unlimited", StringComparison.Ordinal)), "unlimited: no cap");
        Assert.IsNull(OpenFiles.SoftLimit("Max processes 10 10 processes\n"), "no such line");
        Assert.AreEqual(1024 - 209 - OpenFiles.Reserve, new OpenFiles(1024, 209).Connections, "QA's idle service held 209");
        Assert.AreEqual(0, new OpenFiles(256, 209).Connections);
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public void AServeWhoseLimitLeavesNoRoomForConnectionsIsRefusedNamingTheLimit()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/prlimit"))
        {
            Assert.Inconclusive("needs Linux and prlimit(1) (util-linux)");
        }

        var model = ServedClassifierZip.Create(Temp, MlTemp, rowCount: 2);
        var start = SamplesApp.StartInfo(SamplesApp.Output(), Temp, "serve", "--model", model.Zip, "--urls", "http://127.0.0.1:0");
        var dotnet = start.FileName;
        start.FileName = "/usr/bin/prlimit";
        start.ArgumentList.Insert(0, dotnet);
        start.ArgumentList.Insert(0, "--nofile=400:400");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.IsTrue(process.WaitForExit(120_000), "serve must refuse at once, not run");
        var output = stdout.Result + stderr.Result;
        Assert.AreEqual(2, process.ExitCode, output);
        StringAssert.Contains(output, "serve needs more open files: this process may open 400 and holds");
        Assert.DoesNotContain("listening on", output);
    }
}
