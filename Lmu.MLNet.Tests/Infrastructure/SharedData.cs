using System.Diagnostics;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>
/// The shared folder (<c>../shared</c>: data sets and the independent oracle), read in place. By default it is found by
/// walking up from the test binaries (<c>../shared</c> from /work/main, <c>../../shared</c> from a worktree); the
/// environment variable <c>LMU_SHARED_DIR</c>, when set, names the shared folder itself and replaces that search, so
/// CI can point at a copy elsewhere and anyone can run the suite as a fresh clone without shared/ would
/// (<c>LMU_SHARED_DIR=/nonexistent dotnet test ...</c>).
/// </summary>
internal static class SharedData
{
    /// <summary>Environment variable naming the shared folder; it replaces the search above the test binaries.</summary>
    internal const string EnvironmentVariable = "LMU_SHARED_DIR";

    /// <summary>Full path of shared/data/{relative}, or Inconclusive naming what was searched.</summary>
    public static string Directory(string relative)
    {
        var below = Path.Combine("data", relative);
        if (Find(below, System.IO.Directory.Exists) is { } found)
        {
            return found;
        }

        Assert.Inconclusive($"shared/data/{relative} not found: {Searched()}.");
        throw new UnreachableException();
    }

    /// <summary>Full path of the existing file below shared/, or <see langword="null"/> (see <see cref="Find(string, Func{string, bool})"/>).</summary>
    public static string? FindFile(string belowShared) => Find(belowShared, File.Exists);

    /// <summary>
    /// Full path of <c>shared/{belowShared}</c> where <paramref name="exists"/> holds, or <see langword="null"/>: below
    /// <c>$LMU_SHARED_DIR</c> alone when that is set, else below the first ancestor of the test binaries that has it.
    /// </summary>
    public static string? Find(string belowShared, Func<string, bool> exists) =>
        Find(belowShared, exists, AppContext.BaseDirectory, Environment.GetEnvironmentVariable(EnvironmentVariable));

    /// <summary>The search of <see cref="Find(string, Func{string, bool})"/> from explicit inputs (for tests).</summary>
    internal static string? Find(string belowShared, Func<string, bool> exists, string startDirectory, string? sharedOverride)
    {
        if (!string.IsNullOrEmpty(sharedOverride))
        {
            var candidate = Path.GetFullPath(Path.Combine(sharedOverride, belowShared));
            return exists(candidate) ? candidate : null;
        }

        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", belowShared);
            if (exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Where <see cref="Find(string, Func{string, bool})"/> looked, for Inconclusive messages.</summary>
    public static string Searched() => Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } dir
        ? $"{EnvironmentVariable} is set to '{dir}' and only that folder was searched"
        : $"no ancestor of '{AppContext.BaseDirectory}' has a shared/ folder holding it (shared/ must sit beside the repository root, or set {EnvironmentVariable})";
}
