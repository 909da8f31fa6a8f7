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

    /// <summary>
    /// The path with every link on it resolved, folders included (resolving the last part alone let <c>--input
    /// linkdir/rows.csv --output real/sub/rows.csv</c> through when linkdir links to real/sub, and the input was
    /// overwritten; found by QA). Parts that do not exist yet are kept as written.
    /// </summary>
    internal static string Resolve(string path, int depth = 0)
    {
        var full = Path.GetFullPath(path);
        if (depth > 40)
        {
            return full; // a link loop: the comparison falls back to the path as written
        }

        var root = Path.GetPathRoot(full) ?? string.Empty;
        var current = root;
        foreach (var part in full[root.Length..].Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar))
        {
            if (part.Length == 0)
            {
                continue;
            }

            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                // The target's own folders may be links too.
                next = Resolve(target.FullName, depth + 1);
            }

            current = next;
        }

        return current;
    }
}
