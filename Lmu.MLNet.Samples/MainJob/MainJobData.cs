using Lmu.MLNet.Samples.Bench;

namespace Lmu.MLNet.Samples.MainJob;

/// <summary>The main job's dataset: where it came from and its official (or fixed) train/test split.</summary>
/// <param name="Name">Dataset name.</param>
/// <param name="Source">Where it was read from, for the summary.</param>
/// <param name="Train">Training split.</param>
/// <param name="Test">Test split.</param>
internal sealed record MainJobData(string Name, string Source, TimeSeriesDataset Train, TimeSeriesDataset Test)
{
    /// <summary>The UCR set used when ../shared/data/ucr is present: two classes, 150 steps, 50 train / 150 test rows.</summary>
    public const string DefaultUcrSet = "ItalyPowerDemand";

    /// <summary>The shipped fallback (Data/README.md).</summary>
    public const string Digits = "digits";

    /// <summary>
    /// Resolves <paramref name="requested"/> ("auto", "digits" or a UCR set name): "auto" takes <see cref="DefaultUcrSet"/>
    /// from <paramref name="sharedUcr"/> when that folder exists, the shipped digits otherwise. A named UCR set without
    /// shared data is an error (nothing is downloaded).
    /// </summary>
    public static MainJobData Resolve(string requested, string? sharedUcr, string shippedDataDirectory)
    {
        var name = string.Equals(requested, "auto", StringComparison.OrdinalIgnoreCase)
            ? sharedUcr is not null && Directory.Exists(Path.Combine(sharedUcr, DefaultUcrSet)) ? DefaultUcrSet : Digits
            : requested;
        if (string.Equals(name, Digits, StringComparison.OrdinalIgnoreCase))
        {
            var path = Path.Combine(shippedDataDirectory, "digits.csv.gz");
            var (train, test) = DigitsDataset.Load(path);
            return new MainJobData("Digits 8x8 (UCI, CC BY 4.0)", path, train, test);
        }

        if (sharedUcr is null || !Directory.Exists(Path.Combine(sharedUcr, name)))
        {
            throw new DirectoryNotFoundException(
                $"UCR set '{name}' needs ../shared/data/ucr/{name} ({Searched()}); use --dataset digits for the shipped set.");
        }

        var (ucrTrain, ucrTest) = UcrLoader.LoadSplit(Path.Combine(sharedUcr, name), name);
        return new MainJobData($"{name} (UCR archive)", Path.Combine(sharedUcr, name), ucrTrain, ucrTest);
    }

    /// <summary><see cref="Resolve(string, string?, string)"/> with the shared folder found above the working directory or the app, and the app's Data folder.</summary>
    public static MainJobData Resolve(string requested) =>
        Resolve(requested, SharedFolder.Find(Path.Combine("data", "ucr")), Path.Combine(AppContext.BaseDirectory, "Data"));

    // Where SharedFolder looked: a set LMU_SHARED_DIR replaces the search above the working directory and the app.
    private static string Searched() => Environment.GetEnvironmentVariable(SharedFolder.EnvironmentVariable) is { Length: > 0 } named
        ? $"looked in {SharedFolder.EnvironmentVariable} = '{named}'"
        : "looked above the working directory and the app";
}
