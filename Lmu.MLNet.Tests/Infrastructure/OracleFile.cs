using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>
/// The two float64 oracles of the LMU maths, with one schema (keys continuous, discrete, impulse, decoders, forward),
/// each parsed once per test run. Oracle tests run against both, one data row per source:
/// <list type="bullet">
/// <item><see cref="Committed"/>: <c>Lmu.MLNet.Tests/Oracle/lmu_oracle.json</c>, written by the repository's own
/// generator (<c>Oracle/generate_oracle.py</c>, numpy + scipy) and copied to the test output, so every clone runs every
/// maths test; a missing or malformed file fails the test.</item>
/// <item><see cref="Shared"/>: <c>shared/reference/lmu_reference.json</c>, made outside the project, read in place from
/// the shared folder (<see cref="SharedData"/>, honouring <c>LMU_SHARED_DIR</c>); the test is Inconclusive, never
/// silently passing, when that folder is absent.</item>
/// </list>
/// </summary>
internal static class OracleFile
{
    /// <summary>Source name of the oracle committed with the tests.</summary>
    internal const string Committed = "committed";

    /// <summary>Source name of the independent oracle in ../shared.</summary>
    internal const string Shared = "shared";

    /// <summary>Path of the shared oracle below the shared folder's parent directory.</summary>
    internal static readonly string RelativePath = Path.Combine("shared", "reference", "lmu_reference.json");

    /// <summary>Path of the committed oracle below the test binaries (and below the test project).</summary>
    internal static readonly string CommittedRelativePath = Path.Combine("Oracle", "lmu_oracle.json");

    private static readonly ConcurrentDictionary<string, Lazy<(JsonDocument? Document, string Detail)>> Cache = new();

    /// <summary>
    /// The parsed root object of oracle <paramref name="source"/> (<see cref="Committed"/> or <see cref="Shared"/>).
    /// The shared one marks the calling test Inconclusive, saying where it looked, when it cannot be found; the
    /// committed one fails the test instead, since it is part of the repository.
    /// </summary>
    internal static JsonElement Load(string source)
    {
        var (document, detail) = Cache.GetOrAdd(source, s => new Lazy<(JsonDocument?, string)>(() => Read(s), isThreadSafe: true)).Value;
        if (document is not null)
        {
            return document.RootElement;
        }

        if (source == Shared)
        {
            Assert.Inconclusive($"shared oracle ../shared/reference/lmu_reference.json not found: {detail}. "
                + $"The same test runs against the committed oracle ({CommittedRelativePath}) in its '{Committed}' row.");
        }
        else
        {
            Assert.Fail($"committed oracle missing: {detail}");
        }

        throw new UnreachableException();
    }

    /// <summary>Full path of the shared oracle (honouring <c>LMU_SHARED_DIR</c>), or <see langword="null"/>.</summary>
    internal static string? Find() => SharedData.FindFile(Path.Combine("reference", "lmu_reference.json"));

    /// <summary>Full path of the shared oracle, or <see langword="null"/> if no ancestor of <paramref name="startDirectory"/> has it.</summary>
    internal static string? Find(string startDirectory) =>
        SharedData.Find(Path.Combine("reference", "lmu_reference.json"), File.Exists, startDirectory, sharedOverride: null);

    /// <summary>Full path where the committed oracle is expected beside the test binaries.</summary>
    internal static string CommittedPath() => Path.Combine(AppContext.BaseDirectory, CommittedRelativePath);

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

    private static (JsonDocument? Document, string Detail) Read(string source)
    {
        string? path;
        switch (source)
        {
            case Committed:
                path = CommittedPath();
                if (!File.Exists(path))
                {
                    return (null, $"'{path}' does not exist (the test project copies Oracle/lmu_oracle.json to its output)");
                }

                break;
            case Shared:
                path = Find();
                if (path is null)
                {
                    return (null, SharedData.Searched());
                }

                break;
            default:
                throw new AssertFailedException($"Unknown oracle source '{source}' (use '{Committed}' or '{Shared}').");
        }

        // A malformed file throws here, and so fails the tests: that is a broken oracle, not a missing one.
        return (JsonDocument.Parse(File.ReadAllBytes(path)), path);
    }
}
