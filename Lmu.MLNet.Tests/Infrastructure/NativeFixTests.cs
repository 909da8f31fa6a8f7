using System.Reflection;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>The ELF edit that makes libLibTorchSharp.so load on hosts without GLIBCXX_3.4.32.</summary>
[TestClass]
public sealed class NativeFixTests
{
    [TestMethod]
    public void PatchIsIdempotentAndOnlyTouchesVersionEntries()
    {
        var original = PackagedLibrary();
        var work = Path.Combine(Path.GetTempPath(), $"lmu-elf-{Guid.NewGuid():N}.so");
        try
        {
            File.Copy(original, work);
            int first = ElfVersionPatcher.Patch(work);
            var once = File.ReadAllBytes(work);
            int second = ElfVersionPatcher.Patch(work);
            var twice = File.ReadAllBytes(work);
            // One verneed flag plus the symbol's versym entry (the design note found exactly one symbol).
            Assert.IsTrue(first >= 2, $"first patch changed {first} entries");
            Assert.AreEqual(0, second, "a second patch must change nothing");
            CollectionAssert.AreEqual(once, twice);
            var before = File.ReadAllBytes(original);
            Assert.AreEqual(before.Length, once.Length);
            int differing = before.Zip(once, (a, b) => a != b ? 1 : 0).Sum();
            Assert.IsTrue(differing > 0 && differing <= 2 * first, $"{differing} bytes changed for {first} entries");
        }
        finally
        {
            File.Delete(work);
        }
    }

    [TestMethod]
    public void BuildOutputCopyLoadsOnThisHost()
    {
        // The copy next to the tests is the one TorchSharp loads; TorchInitTests proves it loads. Here: it was
        // patched exactly when the host lacks the version, and the package cache copy was left alone.
        var output = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        if (!OperatingSystem.IsLinux() || !File.Exists(output)) Assert.Inconclusive("Linux build output with libLibTorchSharp.so only.");
        var host = new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        if (host is null) Assert.Inconclusive("No libstdc++.so.6 in the usual places.");
        bool hostHasVersion = ElfVersionPatcher.ContainsAscii(File.ReadAllBytes(host), ElfVersionPatcher.Version + "\0");
        var work = Path.Combine(Path.GetTempPath(), $"lmu-elf-{Guid.NewGuid():N}.so");
        try
        {
            File.Copy(output, work);
            // Already patched iff the host needed it: patching again changes nothing then.
            int changed = ElfVersionPatcher.Patch(work);
            Assert.AreEqual(hostHasVersion, changed > 0, $"host has {ElfVersionPatcher.Version}: {hostHasVersion}; entries still to patch: {changed}");
        }
        finally
        {
            File.Delete(work);
        }
        bool identicalToPackage = File.ReadAllBytes(output).AsSpan().SequenceEqual(File.ReadAllBytes(PackagedLibrary()));
        Assert.AreEqual(hostHasVersion, identicalToPackage, "the output copy must be patched exactly when the host needs it");
    }

    [TestMethod]
    public void AlwaysPatchesOnAHostThatHasTheVersion()
    {
        // QA: an output built where libstdc++ has GLIBCXX_3.4.32 (Ubuntu 24.04) kept the packaged library and could not
        // train on Debian 12 / Ubuntu 22.04 servers, with no switch to force the patch. A host whose libstdc++ has the
        // version is stood in for by a file that holds it; the targets run as the build runs them, after the copy.
        if (!OperatingSystem.IsLinux()) Assert.Inconclusive("The targets patch on Linux only.");
        var packaged = PackagedLibrary();
        var work = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"lmu-native-fix-{Guid.NewGuid():N}")).FullName;
        try
        {
            var host = Path.Combine(work, "libstdc++.so.6");
            File.WriteAllBytes(host, System.Text.Encoding.ASCII.GetBytes($"GLIBCXX_3.4.31\0{ElfVersionPatcher.Version}\0"));
            var project = Path.Combine(work, "fix.proj");
            File.WriteAllText(project, $"<Project><Import Project=\"{Path.Combine(ConsumerProject.RepositoryRoot(), "build", "TorchSharpNativeFix.targets")}\" /></Project>");
            byte[] Patched(string setting)
            {
                var output = Directory.CreateDirectory(Path.Combine(work, setting)).FullName;
                var library = Path.Combine(output, "libLibTorchSharp.so");
                File.Copy(packaged, library);
                var start = new System.Diagnostics.ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (var a in new[] { "msbuild", project, "-nologo", "-t:LmuPatchTorchSharpNativeInOutput", $"-p:OutDir={output}/", $"-p:LmuHostLibStdCxx={host}", $"-p:LmuTorchSharpNativeFix={setting}" })
                {
                    start.ArgumentList.Add(a);
                }

                using var process = System.Diagnostics.Process.Start(start)!;
                var log = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
                Assert.IsTrue(process.WaitForExit(TimeSpan.FromMinutes(3)), "msbuild did not finish");
                Assert.AreEqual(0, process.ExitCode, log);
                return File.ReadAllBytes(library);
            }

            var original = File.ReadAllBytes(packaged);
            CollectionAssert.AreEqual(original, Patched("true"), "the default leaves the library as packaged on a host that has the version");
            var forced = Patched("always");
            CollectionAssert.AreNotEqual(original, forced, "always patches it");
            var again = Path.Combine(work, "again.so");
            File.WriteAllBytes(again, forced);
            Assert.AreEqual(0, ElfVersionPatcher.Patch(again), "the forced copy is patched as the default patches on hosts without the version");
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static string PackagedLibrary()
    {
        var torchSharp = typeof(TorchSharp.torch).Assembly.Location;
        // .../torchsharp/<ver>/lib/net8.0/TorchSharp.dll in the package cache is not where tests run from, so ask NuGet's layout.
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var version = typeof(TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.107.0";
        var path = Path.Combine(packages, "torchsharp", version, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(path)) Assert.Inconclusive($"Packaged libLibTorchSharp.so not found at {path} (TorchSharp at {torchSharp}).");
        return path;
    }
}
