using System.CommandLine;
using Lmu.MLNet.Samples.Commands;

// The Samples app: every documented result and benchmark is a subcommand; with no arguments it runs the main job.
var root = new RootCommand("Lmu.MLNet samples: Legendre Memory Units in ML.NET pipelines (results, benchmarks, serving).");
foreach (var command in SampleCommands.All())
    root.Subcommands.Add(command);
SampleCommands.SetMainJob(root);
return root.Parse(args).Invoke();
