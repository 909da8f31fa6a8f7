using System.Globalization;
using System.Text;
using Lmu.MLNet.Samples.Terminal;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// Counts of (true class, predicted class) in the training data's class order, accumulated over a test split or over
/// every cross-validation fold (each row is tested once), printed with each class's recall and precision.
/// </summary>
internal sealed class ConfusionTable(IReadOnlyList<string> classes)
{
    private readonly Dictionary<string, int> _index = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);

    /// <summary>Counts [true, predicted].</summary>
    public int[,] Counts { get; } = new int[classes.Count, classes.Count];

    /// <summary>The classes, in row/column order.</summary>
    public IReadOnlyList<string> Classes => classes;

    /// <summary>Rows counted.</summary>
    public int Total { get; private set; }

    /// <summary>Rows whose prediction was right.</summary>
    public int Correct { get; private set; }

    /// <summary>Adds each row's true and predicted class (a prediction outside the classes, e.g. a row that scored NaN, counts as wrong and is left out of the table).</summary>
    public void Add(IReadOnlyList<string> truth, IReadOnlyList<string> predicted)
    {
        for (var i = 0; i < truth.Count; i++)
        {
            Total++;
            Correct += truth[i] == predicted[i] ? 1 : 0;
            if (_index.TryGetValue(truth[i], out var t) && _index.TryGetValue(predicted[i], out var p))
            {
                Counts[t, p]++;
            }
        }
    }

    /// <summary>Classes up to which <see cref="ToString"/> prints the whole matrix; beyond, one line per class.</summary>
    public const int MatrixClasses = 20;

    /// <summary>
    /// The table as text: one row per true class, one column per predicted class, then recall; a last row of precision.
    /// Beyond <see cref="MatrixClasses"/> classes, one line per class (rows, recall, precision, its most frequent wrong
    /// prediction): QA's 250 classes printed 250 lines of 1,534 characters.
    /// </summary>
    public override string ToString()
    {
        var k = classes.Count;
        if (k > MatrixClasses)
        {
            return PerClass();
        }

        // Whole names: cutting them to a fixed width made classes that share a prefix indistinguishable (found by QA).
        var names = classes.ToArray();
        // In terminal columns, not UTF-16 units: CJK labels take two each (found by QA).
        var widest = names.Max(DisplayWidth.Of);
        var width = Math.Max(6, Math.Max(widest, Total.ToString(CultureInfo.InvariantCulture).Length) + 1);
        var label = Math.Max(18, widest + 2);
        var text = new StringBuilder();
        text.Append("true \\ predicted".PadRight(label));
        foreach (var n in names)
        {
            text.Append(DisplayWidth.PadLeft(n, width));
        }

        text.AppendLine("  recall".PadLeft(width + 2));
        for (var i = 0; i < k; i++)
        {
            text.Append(DisplayWidth.PadRight(names[i], label));
            var row = 0;
            for (var j = 0; j < k; j++)
            {
                text.Append(Counts[i, j].ToString(CultureInfo.InvariantCulture).PadLeft(width));
                row += Counts[i, j];
            }

            text.AppendLine(Ratio(Counts[i, i], row).PadLeft(width + 2));
        }

        text.Append("precision".PadRight(label));
        for (var j = 0; j < k; j++)
        {
            var column = Enumerable.Range(0, k).Sum(i => Counts[i, j]);
            text.Append(Ratio(Counts[j, j], column).PadLeft(width));
        }

        return text.AppendLine().ToString();
    }

    private string PerClass()
    {
        var k = classes.Count;
        var label = Math.Max(18, classes.Max(DisplayWidth.Of) + 2);
        var text = new StringBuilder();
        text.Append("true class".PadRight(label)).AppendLine("   rows  recall  precision  most often taken for");
        for (var i = 0; i < k; i++)
        {
            var row = Enumerable.Range(0, k).Sum(j => Counts[i, j]);
            var column = Enumerable.Range(0, k).Sum(j => Counts[j, i]);
            var wrong = Enumerable.Range(0, k).Where(j => j != i && Counts[i, j] > 0).OrderByDescending(j => Counts[i, j]).ThenBy(j => j).FirstOrDefault(-1);
            text.Append(DisplayWidth.PadRight(classes[i], label))
                .Append(row.ToString(CultureInfo.InvariantCulture).PadLeft(7))
                .Append(Ratio(Counts[i, i], row).PadLeft(8))
                .Append(Ratio(Counts[i, i], column).PadLeft(11))
                .AppendLine(wrong < 0 ? string.Empty : $"  {classes[wrong]} ({Counts[i, wrong].ToString(CultureInfo.InvariantCulture)})");
        }

        return text.AppendLine($"({k} classes: confusion.png shades the whole matrix)").ToString();
    }

    private static string Ratio(int a, int b) => b == 0 ? "-" : (a / (double)b).ToString("0.000", CultureInfo.InvariantCulture);
}
