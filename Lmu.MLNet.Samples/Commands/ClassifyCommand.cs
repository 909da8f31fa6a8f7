using System.CommandLine;
using Lmu.MLNet.Samples.Cli;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>classify</c>: train and evaluate a classifier on the user's own files (CSV/TSV, UCR .tsv, sktime .ts).</summary>
internal static class ClassifyCommand
{
    public static Command Create()
    {
        var train = new Option<string>("--train") { Description = "Training file: CSV/TSV (one series per row), UCR .tsv or sktime .ts.", Required = true };
        var test = new Option<string?>("--test") { Description = "Test file in the same layout; without it the training file is cross-validated (--folds)." };
        var folds = new Option<int>("--folds") { Description = $"Stratified cross-validation folds when there is no --test (default {ClassifyRunner.DefaultFolds})." }.ZeroOrAtLeast(2);
        var label = new Option<string>("--label") { Description = "Label column: a header name or a 1-based column number (ignored for .ts, whose label is last).", DefaultValueFactory = _ => "1" }.NotBlank("a column name or number");
        var header = new Option<string>("--header") { Description = "Whether the first line names the columns: auto, yes or no.", DefaultValueFactory = _ => "auto" };
        var channels = new Option<int>("--channels") { Description = "Values per time step in a row (step-major: t0c0, t0c1, ..., t1c0, ...).", DefaultValueFactory = _ => 1 };
        var model = new Option<string>("--model") { Description = "pooled (LmuPooledFeaturize + ridge, the default), lmu (the LMU network) or experiment (an AutoML-style search within --budget).", DefaultValueFactory = _ => "pooled" };
        model.AcceptOnlyFromAmong("pooled", "lmu", "experiment");
        var budget = new Option<double>("--budget") { Description = "Time budget of each --model experiment fit, seconds (with cross-validation: each fold and the refit).", DefaultValueFactory = _ => 60 }.Within(below: CommandErrors.MaxBudgetSeconds);
        var epochs = new Option<int>("--epochs") { Description = "Epochs of --model lmu (0: its default, 300)." }.NotNegative();
        var seed = new Option<int>("--seed") { Description = "Seed of features, weights and folds.", DefaultValueFactory = _ => 1 };
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads (the networks; more rarely helps these networks and slows them on a busy machine).", DefaultValueFactory = _ => 1 };
        var output = new Option<string>("--output") { Description = "Folder for model.zip, the ONNX stages and the figures.", DefaultValueFactory = _ => "lmu-classify-out" };
        var cmd = new Command("classify", "Train a time-series classifier on your own files; prints ML.NET's metrics and a confusion table, writes the model zip, ONNX and figures.")
        {
            train, test, folds, label, header, channels, model, budget, epochs, seed, threads, output,
        };
        cmd.SetAction(r => ClassifyRunner.Run(new ClassifyRunner.Settings(
            r.GetValue(train)!, r.GetValue(test), r.GetValue(folds),
            new ClassificationFile.Layout(r.GetValue(label)!, r.GetValue(header)!, r.GetValue(channels)),
            new ClassifierTrainer.Settings(Enum.Parse<ClassifierKind>(r.GetValue(model)!, ignoreCase: true), r.GetValue(epochs), r.GetValue(budget), r.GetValue(seed)),
            r.GetValue(threads), r.GetValue(output)!)));
        return cmd;
    }
}
