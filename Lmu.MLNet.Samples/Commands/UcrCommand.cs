using System.CommandLine;
using Lmu.MLNet.Samples.Ucr;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>ucr</c>: LMU classifier, LMU experiment, LmuFeaturize + LightGbm and LmuPooledFeaturize + ridge on the shared UCR/UEA sets, beside published accuracies.</summary>
internal static class UcrCommand
{
    public static Command Create()
    {
        var datasets = new Option<string>("--datasets") { Description = "Comma-separated dataset names (default: all shared sets).", DefaultValueFactory = _ => string.Join(',', UcrBenchmark.AllDatasets) }.NotEmptyList();
        var budget = new Option<double>("--budget") { Description = "Experiment time budget per dataset, seconds.", DefaultValueFactory = _ => 60 }.Within(below: CommandErrors.MaxBudgetSeconds);
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads.", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of every model.", DefaultValueFactory = _ => 1 };
        var only = new Option<string>("--models") { Description = "Comma-separated subset of: default, experiment, lightgbm, pooled.", DefaultValueFactory = _ => "default,experiment,lightgbm,pooled" }
            .OneOrMoreOf(["default", "experiment", "lightgbm", "pooled"]);
        var resample = new Option<int>("--resample") { Description = "0: the official split; K: K random stratified train/test splits per set with the official sizes, the same for every model.", DefaultValueFactory = _ => 0 }.NotNegative();
        var cmd = new Command("ucr", "Test accuracy and wall time on the UCR/UEA sets in ../shared/data/ucr, beside 1-NN DTW, ROCKET and InceptionTime.")
        {
            datasets, budget, threads, seed, only, resample,
        };
        cmd.SetAction(r =>
        {
            var models = r.GetValue(only)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            return UcrBenchmark.Run(new UcrBenchmark.Settings(
                r.GetValue(datasets)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
                r.GetValue(budget), r.GetValue(threads), r.GetValue(seed),
                models.Contains("default"), models.Contains("experiment"), models.Contains("lightgbm"), models.Contains("pooled"), r.GetValue(resample)));
        });
        return cmd;
    }
}
