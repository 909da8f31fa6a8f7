using System.Text.Json;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>
/// Locates the shared float64 oracle (shared/reference/lmu_reference.json) by walking up from the test binaries,
/// and parses it once.
/// </summary>
public static class OracleFile
{
    private static readonly Lazy<JsonElement?> Parsed = new(() =>
    {
        var path = Find();
        if (path is null)
        {
            return null;
        }

        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        return doc.RootElement.Clone();
    });

    /// <summary>The oracle's root element; marks the test inconclusive when the shared folder is absent.</summary>
    public static JsonElement Root
    {
        get
        {
            var root = Parsed.Value;
            if (root is null)
            {
                Assert.Inconclusive(
                    "shared/reference/lmu_reference.json was not found above " + AppContext.BaseDirectory +
                    "; the oracle tests need the shared folder next to the project root (../shared).");
            }

            return root!.Value;
        }
    }

    /// <summary>Full path of the oracle file, or null when no ancestor folder has shared/reference/lmu_reference.json.</summary>
    public static string? Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "reference", "lmu_reference.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
