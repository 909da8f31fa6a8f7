namespace Lmu.MLNet;

/// <summary>
/// A path with every symbolic link on it resolved, folders included, and <c>..</c> applied after the link before it (as
/// the operating system reads it): two spellings of one folder or file compare equal. Parts that do not exist yet are
/// kept as written.
/// </summary>
internal static class PhysicalPath
{
    /// <summary>The resolved absolute path (the path as written, made absolute, where a link loop is met).</summary>
    public static string Resolve(string path) => Resolve(path, 0) ?? Path.GetFullPath(path);

    private static string? Resolve(string path, int depth)
    {
        if (depth > 40)
        {
            return null; // a link loop
        }

        // Not GetFullPath: it applies ".." to the text, before the link in front of it is followed.
        var absolute = Path.IsPathRooted(path) ? path : Path.Combine(Directory.GetCurrentDirectory(), path);
        var root = Path.GetPathRoot(absolute) ?? string.Empty;
        var current = root;
        foreach (var part in absolute[root.Length..].Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar))
        {
            if (part.Length == 0 || part == ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            var next = Path.Combine(current, part);
            FileSystemInfo info = Directory.Exists(next) ? new DirectoryInfo(next) : new FileInfo(next);
            if (info.Exists && info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                // The target's own folders may be links too.
                next = Resolve(target.FullName, depth + 1);
                if (next is null)
                {
                    return null;
                }
            }

            current = next;
        }

        return current;
    }
}
