using System.Runtime.InteropServices;
using TorchSharp;

namespace Lmu.MLNet;

/// <summary>
/// The first use of TorchSharp by the ML.NET estimators. When TorchSharp's native library cannot be loaded because the
/// host's libstdc++ lacks GLIBCXX_3.4.32 (Debian 12, Ubuntu 22.04) and the build-time fix is off or did not run,
/// TorchSharp reports that the application "doesn't contain a reference to libtorch-cpu-linux-x64", which sends users
/// to the wrong package. <see cref="EnsureLoaded"/> replaces that with an <see cref="InvalidOperationException"/> that
/// names the real cause and the way out; TorchSharp's exception stays the inner exception. Any other failure is
/// rethrown unchanged.
/// </summary>
internal static class TorchNative
{
    /// <summary>The libstdc++ symbol version TorchSharp 0.107's libLibTorchSharp.so asks for.</summary>
    internal const string RequiredGlibcxx = "GLIBCXX_3.4.32";

    /// <summary>The managed TorchSharp version this library is built against.</summary>
    internal const string TorchSharpVersion = "0.107";

    /// <summary>The CPU backend package (Linux x64) and the version that TorchSharp needs.</summary>
    internal const string LibTorchPackage = "libtorch-cpu-linux-x64";

    /// <inheritdoc cref="LibTorchPackage"/>
    internal const string LibTorchVersion = "2.10.0";

    /// <summary>The MSBuild property of the package's buildTransitive targets that turns the fix off.</summary>
    internal const string FixProperty = "LmuTorchSharpNativeFix";

    private const string NativeLibraryFile = "libLibTorchSharp.so";
    private static volatile bool s_loaded;

    /// <summary>
    /// Loads TorchSharp's native backend (what TorchSharp's first use does anyway). Throws
    /// <see cref="InvalidOperationException"/> with the cause and the fix when the GLIBCXX_3.4.32 load failure is the
    /// reason it cannot; rethrows TorchSharp's exception otherwise.
    /// </summary>
    public static void EnsureLoaded()
    {
        if (s_loaded)
        {
            return;
        }

        RequireWorkingDirectory();

        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            s_loaded = true;
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
        {
            if (DiagnoseLoadFailure() is { } message)
            {
                throw new InvalidOperationException(message, e);
            }

            throw;
        }
    }

    /// <summary>
    /// Throws <see cref="InvalidOperationException"/> when the process's working directory no longer exists. Why: libtorch's
    /// MKL then ends the process at its first use ("Intel oneMKL FATAL ERROR: Cannot load libtorch_cpu.so"), with no
    /// exception a host could catch (found by QA: a CLI started from a deleted folder, a service whose working directory
    /// was removed before it first trained). Checked before the first use only: once loaded, MKL trained on in a deleted
    /// working directory in every configuration QA tried (refusing then stopped a running service's training).
    /// </summary>
    internal static void RequireWorkingDirectory()
    {
        try
        {
            if (Directory.Exists(Directory.GetCurrentDirectory()))
            {
                return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw WorkingDirectoryGone(e);
        }

        throw WorkingDirectoryGone(null);
    }

    private static InvalidOperationException WorkingDirectoryGone(Exception? cause) => new(
        "The process's working directory no longer exists (it was deleted or moved). libtorch would end the process at its first " +
        "use from here, so nothing was trained: change to an existing directory first (Directory.SetCurrentDirectory, or cd for a command).",
        cause);

    /// <summary>
    /// Tries to load the libLibTorchSharp.so TorchSharp loads first and returns the message when it fails for want of
    /// GLIBCXX_3.4.32; null otherwise (not Linux, no such file, it loads, or another cause).
    /// </summary>
    internal static string? DiagnoseLoadFailure() =>
        OperatingSystem.IsLinux() && CandidateLibraries().FirstOrDefault() is { } path ? DiagnoseLibrary(path) : null;

    /// <summary>
    /// Loads <paramref name="path"/> and returns the message when the loader rejects it for want of GLIBCXX_3.4.32;
    /// null when it loads or fails for another reason. (On a host that has the version the library really loads:
    /// call this only for the library TorchSharp would load anyway.)
    /// </summary>
    internal static string? DiagnoseLibrary(string path)
    {
        try
        {
            NativeLibrary.Free(NativeLibrary.Load(path));
            return null;
        }
        catch (DllNotFoundException e)
        {
            return GlibcxxMessage(path, e.Message);
        }
        catch (BadImageFormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// The error for a loader message that names the missing GLIBCXX_3.4.32 (dlerror's "version `GLIBCXX_3.4.32' not
    /// found (required by ...libLibTorchSharp.so)"); null for any other loader message.
    /// </summary>
    internal static string? GlibcxxMessage(string libraryPath, string loaderMessage)
    {
        if (!loaderMessage.Contains(RequiredGlibcxx, StringComparison.Ordinal))
        {
            return null;
        }

        var loaderLine = loaderMessage.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains(RequiredGlibcxx, StringComparison.Ordinal)) ?? loaderMessage.Trim();
        return
            $"TorchSharp's native library could not be loaded: {libraryPath} requires {RequiredGlibcxx}, which this host's libstdc++ lacks " +
            $"(the loader said: {loaderLine}). Debian 12 and Ubuntu 22.04 are such hosts. Lmu.MLNet's build-time fix makes the copy in the " +
            $"application's build and publish folders loadable there, but it is turned off ({FixProperty}=false) or did not run for this " +
            $"folder (it patches only when the machine that builds or publishes lacks {RequiredGlibcxx}). To turn it on, remove " +
            $"{FixProperty}=false from the project file, Directory.Build.props and the dotnet command line (or set it to true), then build " +
            $"or publish again on a host like this one, or on any host with {FixProperty}=always. The native backend package must be {LibTorchPackage} {LibTorchVersion}, the libtorch " +
            $"TorchSharp {TorchSharpVersion} is built for. TorchSharp's own error, the inner exception, says the application lacks a reference " +
            $"to {LibTorchPackage}; that is not the cause here.";
    }

    /// <summary>
    /// The copies TorchSharp tries, in its order: next to TorchSharp.dll (a RID-specific build), runtimes/linux-ARCH/native
    /// (a portable build), then cpu/, where TorchSharp copies the package natives when the first ones fail.
    /// </summary>
    private static IEnumerable<string> CandidateLibraries()
    {
        var folders = new List<string>();
        var torchSharp = typeof(torch).Assembly.Location;
        if (!string.IsNullOrEmpty(torchSharp))
        {
            folders.Add(Path.GetDirectoryName(torchSharp)!);
        }

        folders.Add(AppContext.BaseDirectory);
        var rid = "linux-" + RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant();
        foreach (var folder in folders.Distinct(StringComparer.Ordinal))
        {
            foreach (var path in new[]
                     {
                         Path.Combine(folder, NativeLibraryFile),
                         Path.Combine(folder, "runtimes", rid, "native", NativeLibraryFile),
                         Path.Combine(folder, "cpu", NativeLibraryFile),
                     })
            {
                if (File.Exists(path))
                {
                    yield return path;
                }
            }
        }
    }
}
