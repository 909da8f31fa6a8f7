using System.CommandLine;
using System.Globalization;
using Lmu.MLNet.Samples.Commands;

// The Samples app: every documented result and benchmark is a subcommand; with no arguments it runs the main job.
// Any failure is one line on stderr and exit code 2 (the stack trace with --verbose): see CommandErrors.
// One culture for every number the app reads and writes (its files, tables and plots are invariant): under de-DE the
// tables mixed 17.766 and 0,62815 and --help showed defaults as 0,002 (found by QA).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var root = new RootCommand("Lmu.MLNet samples: Legendre Memory Units in ML.NET pipelines (results, benchmarks, serving).");
foreach (var command in SampleCommands.All())
    root.Subcommands.Add(command);
SampleCommands.SetMainJob(root);
CommandErrors.PositiveThreads(root);
root.Options.Add(CommandErrors.Verbose);
return CommandErrors.Invoke(root.Parse(args));
