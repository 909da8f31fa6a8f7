using System.Diagnostics;
using System.Globalization;
using Lmu.MLNet.Classification;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using Microsoft.ML;

namespace Lmu.MLNet.Samples.Scale;

/// <summary>
/// One epoch of training on a <see cref="ScaleData"/> file, read through ML.NET's binary loader; runs in a child process
/// of its own so that its peak resident memory is its own. Prints one line: <c>scale-result rows=R fit_s=S vmhwm_kb=K</c>.
/// </summary>
internal static class ScaleFit
{
    public static int Run(string task, string path, int threads, int seed)
    {
        TorchSharp.torch.set_num_threads(threads);
        var ml = new MLContext(seed);
        var data = ml.Data.LoadFromBinary(path);
        var clock = Stopwatch.StartNew();
        long rows;
        switch (task)
        {
            case "classify":
            {
                var options = new LmuClassifierOptions
                {
                    Channels = ScaleData.Channels,
                    Layer = new LmuLayerOptions { Order = 8, HiddenCell = HiddenCell.None },
                    Training = new LmuTrainingOptions { Epochs = 1, BatchSize = 256, LearningRate = 1e-2, Seed = seed },
                    ValidationFraction = 0.1,
                    TorchThreads = threads,
                };
                var pipeline = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Lmu(options));
                var model = pipeline.Fit(data);
                rows = model.LastTransformer.Info.TrainingRows;
                model.LastTransformer.Dispose();
                break;
            }

            case "forecast":
            {
                var options = new LmuForecastingOptions
                {
                    SeriesColumnName = "Value", SeriesIdColumnName = "SeriesId", WindowSize = 32, Horizon = 8, WindowStride = 64,
                    ValidationFraction = 0.1, TorchThreads = threads,
                    Layer = new LmuLayerOptions { Order = 8, HiddenCell = HiddenCell.Dense, HiddenUnits = 16, InputToHidden = true },
                    Training = new LmuTrainingOptions { Epochs = 1, BatchSize = 256, LearningRate = 1e-2, Seed = seed },
                };
                using var model = ml.Forecasting.ForecastByLmu(options).Fit(data);
                rows = data.GetRowCount() ?? -1;
                break;
            }

            default:
                throw new ArgumentException($"--child: unknown task '{task}'; expected classify or forecast.");
        }

        var fit = clock.Elapsed.TotalSeconds;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"scale-result rows={rows} fit_s={fit:F2} vmhwm_kb={PeakResidentKb()}"));
        return 0;
    }

    /// <summary>VmHWM (peak resident set) of this process from /proc/self/status, in kB; -1 where there is no /proc.</summary>
    public static long PeakResidentKb()
    {
        const string Status = "/proc/self/status";
        if (!File.Exists(Status))
        {
            return -1;
        }

        var line = File.ReadLines(Status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
