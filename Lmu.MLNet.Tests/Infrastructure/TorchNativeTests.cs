using System.Reflection;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>
/// The error users see when libLibTorchSharp.so cannot load for want of GLIBCXX_3.4.32 (the native fix off or not run),
/// instead of TorchSharp's "doesn't contain a reference to libtorch-cpu-linux-x64". The end-to-end case (a consumer
/// built with LmuTorchSharpNativeFix=false) is in PackageConsumerTests.
/// </summary>
[TestClass]
public sealed class TorchNativeTests
{
    /// <summary>dlerror's text as .NET 10 reported it on Debian 12 (libstdc++ 12.2) for the unpatched library.</summary>
    private const string LoaderMessageSeenOnDebian12 =
        "Unable to load shared library '/tmp/lmu-probe/bin/Release/net10.0/linux-x64/libLibTorchSharp.so' or one of its dependencies. " +
        "In order to help diagnose loading problems, consider using a tool like strace. If you're using glibc, consider setting the LD_DEBUG environment variable: \n" +
        "/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by /tmp/lmu-probe/bin/Release/net10.0/linux-x64/libLibTorchSharp.so)";

    [TestMethod]
    public void TheGlibcxxLoadFailureNamesTheCauseThePropertyAndTheBackendVersion()
    {
        const string library = "/app/bin/libLibTorchSharp.so";
        var message = TorchNative.GlibcxxMessage(library, LoaderMessageSeenOnDebian12);
        Assert.IsNotNull(message);
        StringAssert.StartsWith(message, $"TorchSharp's native library could not be loaded: {library} requires GLIBCXX_3.4.32, which this host's libstdc++ lacks");
        // The loader's own line, without .NET's generic advice around it.
        StringAssert.Contains(message, "(the loader said: /lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by");
        Assert.DoesNotContain("strace", message);
        StringAssert.Contains(message, "it is turned off (LmuTorchSharpNativeFix=false) or did not run");
        StringAssert.Contains(message, "remove LmuTorchSharpNativeFix=false from the project file, Directory.Build.props and the dotnet command line (or set it to true)");
        StringAssert.Contains(message, "build or publish again");
        StringAssert.Contains(message, "must be libtorch-cpu-linux-x64 2.10.0");
        StringAssert.Contains(message, "TorchSharp 0.107");
    }

    [TestMethod]
    public void OtherLoadFailuresKeepTorchSharpsOwnError()
    {
        Assert.IsNull(TorchNative.GlibcxxMessage("/x/libLibTorchSharp.so", "Unable to load shared library '/x/libLibTorchSharp.so' or one of its dependencies: libtorch_cpu.so: cannot open shared object file: No such file or directory"));
        Assert.IsNull(TorchNative.GlibcxxMessage("/x/libLibTorchSharp.so", "/x/libLibTorchSharp.so: wrong ELF class: ELFCLASS32"));
    }

    [TestMethod]
    public void TheVersionsTheMessageNamesAreTheOnesTheRepositoryPins()
    {
        var props = ConsumerProject.PinnedVersions(ConsumerProject.RepositoryRoot());
        Assert.AreEqual(TorchNative.LibTorchVersion, props[TorchNative.LibTorchPackage], "the message names the pinned libtorch version");
        StringAssert.StartsWith(props["TorchSharp"], TorchNative.TorchSharpVersion + ".");
    }

    [TestMethod]
    public void AnUnpatchedLibraryIsDiagnosedOnAHostWithoutGlibcxx332()
    {
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("Linux only.");
        var host = new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        if (host is null || ElfVersionPatcher.ContainsAscii(File.ReadAllBytes(host), ElfVersionPatcher.Version + "\0"))
        {
            // There the unpatched library would really load (a second copy in this process): nothing to diagnose.
            Assert.Inconclusive("This host's libstdc++ has GLIBCXX_3.4.32.");
        }

        var packaged = PackagedLibrary();
        var work = Path.Combine(Path.GetTempPath(), $"lmu-unpatched-{Guid.NewGuid():N}", "libLibTorchSharp.so");
        Directory.CreateDirectory(Path.GetDirectoryName(work)!);
        try
        {
            File.Copy(packaged, work);
            var message = TorchNative.DiagnoseLibrary(work);
            Assert.IsNotNull(message, "the loader must reject the unpatched copy for GLIBCXX_3.4.32");
            StringAssert.StartsWith(message, $"TorchSharp's native library could not be loaded: {work} requires GLIBCXX_3.4.32");
            StringAssert.Contains(message, $"not found (required by {work})");

            // The patched copy (what the build fix makes) loads: no diagnosis.
            ElfVersionPatcher.Patch(work);
            Assert.IsNull(TorchNative.DiagnoseLibrary(work));
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(work)!, recursive: true);
        }
    }

    [TestMethod]
    public void TheTestOutputsLibraryLoads()
    {
        // The fix ran for the test output: the estimators' first touch of torch passes, and nothing is diagnosed there.
        TorchNative.EnsureLoaded();
        Assert.IsNull(TorchNative.DiagnoseLoadFailure());
    }

    private static string PackagedLibrary()
    {
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var version = typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.107.0";
        var path = Path.Combine(packages, "torchsharp", version, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(path)) Assert.Inconclusive($"Packaged libLibTorchSharp.so not found at {path}.");
        return path;
    }
}
