using System.Diagnostics;
using System.Text.Json;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>
/// The independent float64 oracle <c>shared/reference/lmu_reference.json</c> (numpy + scipy, made outside the project),
/// read in place and parsed once per test run. The shared folder sits next to the checkout (<c>../shared</c> from
/// /work/main, <c>../../shared</c> from a worktree), so it is found by walking up from the test binaries rather than
/// by a fixed relative path. Tests that need it become Inconclusive, never silently pass, when it is absent.
/// </summary>
internal static class OracleFile
{
    /// <summary>Path of the oracle below the shared folder's parent directory.</summary>
    internal static readonly string RelativePath = Path.Combine("shared", "reference", "lmu_reference.json");

    private static readonly Lazy<(JsonDocument? Document, string Detail)> Cached = new(Read, isThreadSafe: true);

    /// <summary>
    /// The parsed oracle's root object (keys include continuous, discrete, impulse, decoders, forward). Marks the
    /// calling test Inconclusive, with the directories searched, when the file cannot be found.
    /// </summary>
    internal static JsonElement Load()
    {
        var (document, detail) = Cached.Value;
        if (document is null)
        {
            Assert.Inconclusive($"../shared/reference/lmu_reference.json not found: {detail}");
            throw new UnreachableException();
        }

        return document.RootElement;
    }

    /// <summary>The parsed oracle's root object (same as <see cref="Load"/>).</summary>
    internal static JsonElement Root => Load();

    /// <summary>Full path of the oracle above the test binaries, or null.</summary>
    internal static string? Find() => Find(AppContext.BaseDirectory);

    /// <summary>Full path of the oracle, or <see langword="null"/> if no ancestor of <paramref name="startDirectory"/> has it.</summary>
    internal static string? Find(string startDirectory)
    {
        for (var dir = new DirectoryInfo(startDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, RelativePath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Reads a JSON array of arrays of numbers as a rectangular matrix.</summary>
    internal static double[,] Matrix(JsonElement rows)
    {
        var rowCount = rows.GetArrayLength();
        var colCount = rowCount == 0 ? 0 : rows[0].GetArrayLength();
        var m = new double[rowCount, colCount];
        for (var i = 0; i < rowCount; i++)
        {
            var row = rows[i];
            Assert.AreEqual(colCount, row.GetArrayLength(), $"Oracle row {i} is ragged.");
            for (var j = 0; j < colCount; j++)
            {
                m[i, j] = row[j].GetDouble();
            }
        }

        return m;
    }

    /// <summary>Reads a JSON array of numbers as a vector.</summary>
    internal static double[] Vector(JsonElement values)
    {
        var v = new double[values.GetArrayLength()];
        for (var i = 0; i < v.Length; i++)
        {
            v[i] = values[i].GetDouble();
        }

        return v;
    }

    private static (JsonDocument? Document, string Detail) Read()
    {
        var start = AppContext.BaseDirectory;
        var path = Find(start);
        if (path is null)
        {
            return (null, $"no ancestor of '{start}' contains '{RelativePath}' (shared/ must sit beside the repository root).");
        }

        // A malformed file throws here, and so fails the tests: that is a broken oracle, not a missing one.
        return (JsonDocument.Parse(File.ReadAllBytes(path)), path);
    }
}
