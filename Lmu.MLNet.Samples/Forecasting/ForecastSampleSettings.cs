using System.CommandLine;
using Lmu.MLNet.Samples.Commands;
using Lmu.MLNet.Training;

namespace Lmu.MLNet.Samples.Forecasting;

/// <summary>Options every forecasting sample shares (training settings and torch threads).</summary>
internal sealed class ForecastSampleSettings
{
    public required Option<int> Epochs { get; init; }
    public required Option<int> BatchSize { get; init; }
    public required Option<double> LearningRate { get; init; }
    public required Option<int> Threads { get; init; }
    public required Option<int> Seed { get; init; }

    public static ForecastSampleSettings Create(int epochs, int batchSize, double learningRate) => new()
    {
        Epochs = new Option<int>("--epochs") { Description = "Training epochs.", DefaultValueFactory = _ => epochs }.Between(1),
        BatchSize = new Option<int>("--batch-size") { Description = "Windows per gradient step.", DefaultValueFactory = _ => batchSize }.Between(1),
        LearningRate = new Option<double>("--learning-rate") { Description = "Adam learning rate (cosine schedule).", DefaultValueFactory = _ => learningRate }.Within(),
        Threads = new Option<int>("--threads") { Description = "Torch intra-op threads.", DefaultValueFactory = _ => 1 },
        Seed = new Option<int>("--seed") { Description = "Seed for weights, shuffling and generated data.", DefaultValueFactory = _ => 1 },
    };

    public void AddTo(Command command)
    {
        command.Options.Add(Epochs);
        command.Options.Add(BatchSize);
        command.Options.Add(LearningRate);
        command.Options.Add(Threads);
        command.Options.Add(Seed);
    }

    public LmuTrainingOptions Training(ParseResult r, int patience = 0) => new()
    {
        Epochs = r.GetValue(Epochs), BatchSize = r.GetValue(BatchSize), LearningRate = r.GetValue(LearningRate),
        Seed = r.GetValue(Seed), EarlyStoppingPatience = patience,
    };

    /// <summary>
    /// Prints each epoch on one line; "no validation windows" when the split held none (it printed an empty
    /// "validation loss ," for a short run; found by QA).
    /// </summary>
    public static IProgress<LmuEpochReport> Printer() => new SyncProgress(e =>
        Console.WriteLine($"  epoch {e.Epoch}/{e.Epochs}: train loss {e.TrainLoss:F5}, {(e.ValidationLoss is { } v ? $"validation loss {v:F5}" : "no validation windows")}, {e.Elapsed.TotalSeconds:F1} s"));

    /// <summary>The file shared/data/forecasting/relative (<see cref="SharedFolder"/>), or a clear error.</summary>
    public static string Data(string relative)
        => OptionalData(relative) ?? throw new FileNotFoundException(
            $"shared/data/forecasting/{relative} was not found above the working directory; the shared folder must sit beside the repository.");

    /// <summary>The file shared/data/forecasting/relative (<see cref="SharedFolder"/>), or null when it is absent.</summary>
    public static string? OptionalData(string relative)
        => SharedFolder.Find(Path.Combine("data", "forecasting", relative), File.Exists);

    // Progress<T> posts to the thread pool; printing in order needs a synchronous one.
    private sealed class SyncProgress(Action<LmuEpochReport> action) : IProgress<LmuEpochReport>
    {
        public void Report(LmuEpochReport value) => action(value);
    }
}
