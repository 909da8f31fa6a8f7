using System.Globalization;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>Locates ../shared/data/forecasting (read in place) and parses the M4 CSV layout.</summary>
internal static class SharedForecastData
{
    /// <summary>Full path of a file below shared/data/forecasting; the test becomes Inconclusive when it is absent.</summary>
    public static string Require(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "forecasting", relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        Assert.Inconclusive($"shared/data/forecasting/{relative} not found above {AppContext.BaseDirectory}; the shared data folder must sit beside the repository.");
        throw new InvalidOperationException();
    }

    /// <summary>M4 rows: "id","v1",... with trailing empty cells for shorter series.</summary>
    public static List<double[]> ReadM4(string path) =>
        File.ReadLines(path).Skip(1).Select(line => line.Split(',').Skip(1)
                .Select(c => c.Trim('"')).Where(c => c.Length > 0)
                .Select(c => double.Parse(c, CultureInfo.InvariantCulture)).ToArray())
            .ToList();
}
