using System.CommandLine;
using Lmu.MLNet.Samples.Ucr;

namespace Lmu.MLNet.Samples.Commands;

/// <summary><c>ucr-dynamics</c>: the <c>ucr</c> LMU default network with fixed vs learned dynamics (TrainableA/B/theta), same seeds, same run.</summary>
internal static class UcrDynamicsCommand
{
    public static Command Create()
    {
        var datasets = new Option<string>("--datasets") { Description = "Comma-separated dataset names.", DefaultValueFactory = _ => "ItalyPowerDemand,Chinatown" }.NotEmptyList();
        var variants = new Option<string>("--variants") { Description = $"Comma-separated variants: {string.Join(", ", UcrDynamicsStudy.AllVariants.Keys)}; append +std to standardise every step with the training rows' statistics, +both to give the raw and the standardised values as two channels, +shift to train on rows shifted by up to T/8 steps, +ensK to average the class probabilities of K networks from K seeds (K >= 2), +wdX for AdamW weight decay X > 0, +jitterX to add training noise of X channel standard deviations, +warpX for smooth random time warps of log-scale strength X, +lrX for learning rate X, +ridge to refit the head by leave-one-out ridge (+std and +both exclude each other).", DefaultValueFactory = _ => "fixed,ab,abtheta" }.NotEmptyList();
        var seeds = new Option<string>("--seeds") { Description = "Comma-separated seeds.", DefaultValueFactory = _ => "1" }.NumbersFrom(int.MinValue);
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads.", DefaultValueFactory = _ => 1 };
        var epochs = new Option<int>("--epochs") { Description = "Epochs (the ucr default network trains 300).", DefaultValueFactory = _ => 300 }.Between(1);
        // A negative K silently scored the test split (found by QA).
        var folds = new Option<int>("--cv") { Description = "K > 1: K-fold cross-validation inside each training split instead of the test split (to choose among variants).", DefaultValueFactory = _ => 0 }
            .ZeroOrAtLeast(2);
        var cmd = new Command("ucr-dynamics", "The ucr command's LMU default network with one change at a time (learned dynamics, stacks, pooling readouts), on the shared UCR sets.")
        {
            datasets, variants, seeds, threads, epochs, folds,
        };
        cmd.SetAction(r =>
        {
            static string[] List(string s) => s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            return UcrDynamicsStudy.Run(new UcrDynamicsStudy.Settings(
                List(r.GetValue(datasets)!), List(r.GetValue(variants)!),
                List(r.GetValue(seeds)!).Select(n => int.Parse(n, System.Globalization.CultureInfo.InvariantCulture)).ToArray(), r.GetValue(threads), r.GetValue(epochs), r.GetValue(folds)));
        });
        return cmd;
    }
}
