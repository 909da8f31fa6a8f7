using Lmu.MLNet.Training;
using Spectre.Console;

namespace Lmu.MLNet.Samples.Terminal;

/// <summary>
/// A live progress bar for training (epoch, loss, accuracy, ETA) on an interactive terminal; when the output is
/// redirected (CI, a pipe, a file) it prints plain lines instead, about ten over the run plus the last epoch, so logs
/// stay short and readable.
/// </summary>
internal static class TrainingProgressBar
{
    /// <summary>True when a live bar can be drawn (a terminal that understands cursor movement, output not redirected).</summary>
    public static bool Live => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="train"/>, giving it an <see cref="IProgress{T}"/> that drives the bar (or the lines).</summary>
    public static T Run<T>(string title, int epochs, Func<IProgress<LmuEpochReport>, T> train)
    {
        if (!Live)
        {
            Console.WriteLine($"{title}: {epochs} epochs");
            return train(new LineProgress(epochs));
        }

        return AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape($"{title}: starting"), maxValue: epochs);
                var result = train(new BarProgress(task, title));
                // Early stopping may end before the planned epochs: the bar still ends full.
                task.Value = task.MaxValue;
                return result;
            });
    }

    /// <summary>Short text of one epoch: losses, accuracies and the trainer's own ETA.</summary>
    public static string Describe(LmuEpochReport r)
    {
        // Forecasters report no accuracy: their lines show the losses alone.
        static string Acc(double? a) => a is null ? "" : $" acc {a.Value:P1}";
        var validation = r.ValidationLoss is null ? "" : $" | valid loss {r.ValidationLoss:F3}{Acc(r.ValidationAccuracy)}";
        return $"epoch {r.Epoch}/{r.Epochs} | loss {r.TrainLoss:F3}{Acc(r.TrainAccuracy)}{validation} | ETA {r.EstimatedRemaining:mm\\:ss}";
    }

    // Progress<T> would post to the thread pool; the trainer calls Report synchronously, so these update in place.
    private sealed class BarProgress(ProgressTask task, string title) : IProgress<LmuEpochReport>
    {
        public void Report(LmuEpochReport value)
        {
            task.Description = Markup.Escape($"{title}: {Describe(value)}");
            task.Value = value.Epoch;
        }
    }

    private sealed class LineProgress(int epochs) : IProgress<LmuEpochReport>
    {
        private readonly int _every = Math.Max(1, epochs / 10);

        public void Report(LmuEpochReport value)
        {
            if (value.Epoch % _every == 0 || value.Epoch == value.Epochs || value.Epoch == 1)
            {
                Console.WriteLine("  " + Describe(value));
            }
        }
    }
}
