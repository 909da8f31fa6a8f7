namespace Lmu.MLNet.Samples.Cli;

/// <summary>Refuses an output path that names an input file: the command would replace the rows it reads (found by QA: <c>predict --input x --output x</c>).</summary>
internal static class SameFile
{
    /// <summary>
    /// Throws <see cref="ArgumentException"/> when <paramref name="output"/> and <paramref name="input"/> are one file
    /// (links resolved); <paramref name="lost"/> says what writing there would replace.
    /// </summary>
    public static void Refuse(string input, string output, string inputOption, string outputOption, string lost = "the rows being read")
    {
        // Terminals and pipes (/dev/stdin and /dev/stdout both resolve to /dev/pts/N) are not files to protect.
        if (!OperatingSystem.IsWindows() && (Resolve(input).StartsWith("/dev/", StringComparison.Ordinal) || Resolve(input).StartsWith("/proc/", StringComparison.Ordinal)))
        {
            return;
        }

        if (Same(input, output))
        {
            throw new ArgumentException($"{outputOption} '{output}' is the {inputOption} file; writing there would replace {lost}. Write to another file.");
        }
    }

    /// <summary>True when the two paths name one file (links resolved; case-insensitive on Windows).</summary>
    public static bool Same(string a, string b) =>
        string.Equals(Resolve(a), Resolve(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    // Every link on both paths resolved, folders included: resolving the last part alone let --input linkdir/rows.csv
    // --output real/sub/rows.csv through when linkdir links to real/sub, and the input was overwritten (found by QA).
    private static string Resolve(string path) => PhysicalPath.Resolve(path);
}
