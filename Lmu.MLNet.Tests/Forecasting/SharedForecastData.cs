using System.Globalization;
using Lmu.MLNet.Tests.Infrastructure;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>Locates ../shared/data/forecasting (read in place) and parses the M4 CSV layout.</summary>
internal static class SharedForecastData
{
    /// <summary>Full path of a file below shared/data/forecasting; the test becomes Inconclusive when it is absent.</summary>
    public static string Require(string relative)
    {
        // SharedData's search, so LMU_SHARED_DIR applies here too.
        if (SharedData.FindFile(Path.Combine("data", "forecasting", relative)) is { } found)
        {
            return found;
        }

        Assert.Inconclusive($"shared/data/forecasting/{relative} not found: {SharedData.Searched()}.");
        throw new InvalidOperationException();
    }

    /// <summary>M4 rows: "id","v1",... with trailing empty cells for shorter series.</summary>
    public static List<double[]> ReadM4(string path) =>
        File.ReadLines(path).Skip(1).Select(line => line.Split(',').Skip(1)
                .Select(c => c.Trim('"')).Where(c => c.Length > 0)
                .Select(c => double.Parse(c, CultureInfo.InvariantCulture)).ToArray())
            .ToList();
}
