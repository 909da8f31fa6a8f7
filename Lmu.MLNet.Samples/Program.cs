using System.CommandLine;
using System.Globalization;
using Lmu.MLNet.Samples.Commands;

// The Samples app: every documented result and benchmark is a subcommand; with no arguments it runs the main job.
// Any failure is one line on stderr and exit code 2 (the stack trace with --verbose): see CommandErrors.
// One culture for every number the app reads and writes (its files, tables and plots are invariant): under de-DE the
// tables mixed 17.766 and 0,62815 and --help showed defaults as 0,002 (found by QA).
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
// The app's own messages are English: System.CommandLine's parse errors and help headings followed the UI culture,
// mixing "Befehl ... nicht erkannt" into English lines (QA).
CultureInfo.DefaultThreadCurrentUICulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentUICulture = CultureInfo.InvariantCulture;
// A deleted working directory: libtorch's MKL ended the process at its first use ("Intel oneMKL FATAL ERROR"), and
// relative paths failed with "Unable to find the specified file" (found by QA). Said once, before any command runs.
if (!Lmu.MLNet.Samples.WorkingDirectory.Exists(out var gone))
{
    Console.Error.WriteLine($"error: the working directory no longer exists ({gone}); cd to an existing folder and run the command again.");
    return CommandErrors.ExitCode;
}

// ONNX Runtime 1.32 on Linux keeps a device id and sends usage events unless told not to; the tool opts out for
// itself unless ORT_DISABLE_TELEMETRY is set (README, "Telemetry"). First, before anything loads ONNX Runtime.
Lmu.MLNet.Samples.Cli.OnnxRuntimeTelemetry.OptOutUnlessSet();

const string description = "Lmu.MLNet samples: Legendre Memory Units in ML.NET pipelines (results, benchmarks, serving).";
// Installed as a .NET tool the app runs as `lmu`, but RootCommand names itself after the assembly, so the tool's help
// said "Usage: Lmu.MLNet.Samples" (found by QA). Run from the tool package's folder (a global or tool-path install's
// store, or the packages folder a local tool runs from) or through an executable named lmu, the root takes that name,
// with the help and version options RootCommand would bring.
var asTool = AppContext.BaseDirectory.Replace('\\', '/').Contains("/lmu.mlnet.tool/", StringComparison.OrdinalIgnoreCase)
             || Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "lmu";
Command root = asTool
    ? new Command("lmu", description) { Options = { new System.CommandLine.Help.HelpOption(), new VersionOption() } }
    : new RootCommand(description);
foreach (var command in SampleCommands.All())
    root.Subcommands.Add(command);
SampleCommands.SetMainJob(root);
CommandErrors.PositiveThreads(root);
root.Options.Add(CommandErrors.Verbose);
var parsed = root.Parse(args);
// --output naming standard output: the app's own lines go to standard error (StandardOutputTarget). Read from the
// parser's tokens, so an option given in a response file (@file) counts too (review: it was not seen in the raw args).
Lmu.MLNet.Samples.Cli.StandardOutputTarget.RouteConsoleIfNamed(parsed.Tokens.Select(t => t.Value).ToArray());
return CommandErrors.Invoke(parsed);
