namespace Lmu.MLNet.Samples.Cli;

/// <summary>Refuses an output path that names an input file: the command would replace the rows it reads (found by QA: <c>predict --input x --output x</c>).</summary>
internal static class SameFile
{
    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="output"/> and <paramref name="input"/> are one file (links resolved).</summary>
    public static void Refuse(string input, string output, string inputOption, string outputOption)
    {
        // Terminals and pipes (/dev/stdin and /dev/stdout both resolve to /dev/pts/N) are not files to protect.
        if (!OperatingSystem.IsWindows() && (Resolve(input).StartsWith("/dev/", StringComparison.Ordinal) || Resolve(input).StartsWith("/proc/", StringComparison.Ordinal)))
        {
            return;
        }

        if (string.Equals(Resolve(input), Resolve(output), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
        {
            throw new ArgumentException($"{outputOption} '{output}' is the {inputOption} file; writing there would replace the rows being read. Write to another file.");
        }
    }

    private static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        var info = new FileInfo(full);
        return info.Exists && info.ResolveLinkTarget(returnFinalTarget: true) is { } target ? Path.GetFullPath(target.FullName) : full;
    }
}
