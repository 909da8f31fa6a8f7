using System.Diagnostics;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>Folders under ../shared/data, found by walking up from the test binaries (see <see cref="OracleFile"/>).</summary>
internal static class SharedData
{
    /// <summary>Full path of shared/data/{relative}, or Inconclusive naming what was searched.</summary>
    public static string Directory(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", relative);
            if (System.IO.Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Inconclusive($"shared/data/{relative} not found above '{AppContext.BaseDirectory}'.");
        throw new UnreachableException();
    }
}
