using System.CommandLine;
using Lmu.MLNet.Samples.MainJob;

namespace Lmu.MLNet.Samples.Commands;

/// <summary>The registry of subcommands (one line each, so parallel work adds commands without conflicts).</summary>
internal static class SampleCommands
{
    public static IEnumerable<Command> All()
    {
        yield return BenchCommand.Create();
        yield return PredictCommand.Create();
        yield return PsMnistCommand.Create();
        yield return BenchLatencyCommand.Create();
        yield return UcrCommand.Create();
        yield return ExperimentCommand.Create();
        yield return MackeyGlassCommand.Create();
        yield return BikeSharingCommand.Create();
        yield return M4HourlyCommand.Create();
        yield return ForecastStreamCommand.Create();
        yield return ServeCommand.Create();
        yield return BenchFeaturizeCommand.Create();
        yield return SoakCommand.Create();
        yield return UcrDynamicsCommand.Create();
        yield return ClassifyCommand.Create();
        yield return ForecastCommand.Create();
        yield return ScaleCommand.Create();
        yield return BenchCurveCommand.Create();
        yield return FleetCommand.Create();
    }

    /// <summary>What runs with no arguments (the README's quick-start command): the main job, whose options live on the root.</summary>
    public static void SetMainJob(Command root)
    {
        var dataset = new Option<string>("--dataset")
        {
            Description = $"Main job dataset: auto ({MainJobData.DefaultUcrSet} from ../shared/data/ucr when present, else the shipped digits), digits, or a UCR set name.",
            DefaultValueFactory = _ => "auto",
        };
        var epochs = new Option<int>("--epochs") { Description = "Main job epochs; 0 takes the dataset's default (a UCR set 100, digits 40).", DefaultValueFactory = _ => 0 }.NotNegative();
        var threads = new Option<int>("--threads") { Description = "Main job torch intra-op threads.", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Main job seed.", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--output") { Description = "Main job folder for model.zip, training.png and confusion.png.", DefaultValueFactory = _ => "main-job-out" };
        root.Options.Add(dataset);
        root.Options.Add(epochs);
        root.Options.Add(threads);
        root.Options.Add(seed);
        root.Options.Add(output);
        root.SetAction(r => MainJobRunner.Run(new MainJobRunner.Settings(
            r.GetValue(dataset)!, r.GetValue(epochs), r.GetValue(threads), r.GetValue(seed), r.GetValue(output)!)));
    }
}
