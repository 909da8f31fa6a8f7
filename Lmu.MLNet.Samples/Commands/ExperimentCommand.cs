using System.CommandLine;
using Lmu.MLNet.Samples.Ucr;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>experiment</c>: an AutoML-style LMU search (random configurations, successive halving) on one UCR set.</summary>
internal static class ExperimentCommand
{
    public static Command Create()
    {
        var dataset = new Option<string>("--dataset") { Description = "Shared UCR/UEA set name.", DefaultValueFactory = _ => "ItalyPowerDemand" };
        var budget = new Option<double>("--budget") { Description = "Search time budget, seconds.", DefaultValueFactory = _ => 30 }.Within(below: CommandErrors.MaxBudgetSeconds);
        var folds = new Option<int>("--folds") { Description = "Cross-validation folds (0 or 1: a 20 % stratified hold-out).", DefaultValueFactory = _ => 0 }.NotNegative();
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads.", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the search and of every trial.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--output") { Description = "Folder for the best model's model.zip.", DefaultValueFactory = _ => "experiment-out" };
        var cmd = new Command("experiment", "AutoML-style LMU experiment on a UCR set: every trial, the best configuration, its test accuracy, the saved model.")
        {
            dataset, budget, folds, threads, seed, output,
        };
        cmd.SetAction(r => UcrExperimentRun.Run(new UcrExperimentRun.Settings(
            r.GetValue(dataset)!, r.GetValue(budget), r.GetValue(folds) == 1 ? 0 : r.GetValue(folds), r.GetValue(threads), r.GetValue(seed), r.GetValue(output)!)));
        return cmd;
    }
}
