using System.CommandLine;

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
        yield return MackeyGlassCommand.Create();
        yield return BikeSharingCommand.Create();
        yield return M4HourlyCommand.Create();
        yield return ForecastStreamCommand.Create();
    }

    /// <summary>What runs with no arguments (the README's quick-start command).</summary>
    public static void SetMainJob(RootCommand root)
    {
        root.SetAction(_ =>
        {
            Console.WriteLine("No main job is wired yet; see --help for the available commands.");
            return 0;
        });
    }
}
