namespace Lmu.MLNet.Samples;

/// <summary>
/// The shared folder (<c>../shared</c>: data sets, the peer script), read in place; the one lookup every command uses.
/// The environment variable <c>LMU_SHARED_DIR</c>, when set, names the shared folder itself and replaces the search,
/// as in the tests (Lmu.MLNet.Tests' SharedData), so data kept elsewhere is found the same way by both; otherwise the
/// folder is found by walking up from the working directory, then from the app's binaries.
/// </summary>
internal static class SharedFolder
{
    /// <summary>Environment variable naming the shared folder; it replaces the upward search.</summary>
    public const string EnvironmentVariable = "LMU_SHARED_DIR";

    /// <summary>Full path of the existing file or folder <c>shared/{relative}</c>, or <see langword="null"/>.</summary>
    public static string? Find(string relative) => Find(relative, p => File.Exists(p) || Directory.Exists(p));

    /// <summary>
    /// Full path of <c>shared/{relative}</c> where <paramref name="exists"/> holds, or <see langword="null"/>: below
    /// <c>$LMU_SHARED_DIR</c> alone when that is set, else below the first ancestor of the working directory, then of
    /// the app's binaries, that has it.
    /// </summary>
    public static string? Find(string relative, Func<string, bool> exists)
    {
        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } named)
        {
            var candidate = Path.GetFullPath(Path.Combine(named, relative));
            return exists(candidate) ? candidate : null;
        }

        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "shared", relative);
                if (exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return null;
    }
}
