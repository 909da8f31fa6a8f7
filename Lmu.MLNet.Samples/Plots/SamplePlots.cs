using System.Globalization;
using Lmu.MLNet.Training;
using ScottPlot;

namespace Lmu.MLNet.Samples.Plots;

/// <summary>
/// PNG figures written next to a saved model: training curves, a confusion matrix, forecasts with bounds. ScottPlot
/// renders off-screen through SkiaSharp (no display needed).
/// </summary>
internal static class SamplePlots
{
    private const int Width = 1000;
    private const int Height = 450;

    /// <summary>Loss (left) and accuracy (right) per epoch, training and validation where present (named <paramref name="validationName"/>).</summary>
    public static string TrainingCurves(IReadOnlyList<LmuEpochReport> history, string path, string title, string validationName = "validation")
    {
        var epochs = history.Select(h => (double)h.Epoch).ToArray();
        var multiplot = new Multiplot();
        multiplot.AddPlots(2);
        var loss = multiplot.GetPlot(0);
        var accuracy = multiplot.GetPlot(1);
        Series(loss, epochs, history.Select(h => (double?)h.TrainLoss), "train");
        Series(loss, epochs, history.Select(h => h.ValidationLoss), validationName);
        Series(accuracy, epochs, history.Select(h => h.TrainAccuracy), "train");
        Series(accuracy, epochs, history.Select(h => h.ValidationAccuracy), validationName);
        Label(loss, $"{title}: loss", "epoch", "cross-entropy");
        Label(accuracy, $"{title}: accuracy", "epoch", "accuracy");
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Columns();
        Cli.PartialOutputFile.WriteFile(path, p => multiplot.SavePng(p, Width, Height));
        return path;
    }

    /// <summary>ML.NET's confusion matrix as integer counts [true class, predicted class].</summary>
    public static int[,] Counts(Microsoft.ML.Data.ConfusionMatrix matrix)
    {
        var k = matrix.NumberOfClasses;
        var counts = new int[k, k];
        for (var i = 0; i < k; i++)
        {
            for (var j = 0; j < k; j++)
            {
                counts[i, j] = (int)matrix.Counts[i][j];
            }
        }

        return counts;
    }

    /// <summary>Largest side of the confusion figure in pixels (see <see cref="ConfusionMatrix"/>).</summary>
    public const int ConfusionMaxSide = 4000;

    /// <summary>
    /// Counts (rows: true class, columns: predicted class), shaded by row share, counts written in each cell up to 40
    /// classes, every class named up to 60 (beyond, every n-th). At most <see cref="ConfusionMaxSide"/> pixels high (and 100 more wide, for the colour bar): it
    /// grew 60 pixels a class, and past about 380 classes the bitmap passed SkiaSharp's 2 GiB, so a classify run failed
    /// after training and wrote nothing (QA: "invalid SKImageInfo").
    /// </summary>
    public static string ConfusionMatrix(int[,] counts, IReadOnlyList<string> classes, string path, string title)
    {
        var k = classes.Count;
        var share = new double[k, k];
        for (var i = 0; i < k; i++)
        {
            var total = Math.Max(1, Enumerable.Range(0, k).Sum(j => counts[i, j]));
            for (var j = 0; j < k; j++)
            {
                share[i, j] = counts[i, j] / (double)total;
            }
        }

        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(share);
        heatmap.Colormap = new ScottPlot.Colormaps.Blues();
        heatmap.ManualRange = new ScottPlot.Range(0, 1);
        // Cell (i, j) spans x in [j, j+1] and y in [k-1-i, k-i]: row 0 (the first class) at the top.
        heatmap.Extent = new CoordinateRect(0, k, 0, k);
        for (var i = 0; i < (k <= 40 ? k : 0); i++)
        {
            for (var j = 0; j < k; j++)
            {
                var text = plot.Add.Text(counts[i, j].ToString(CultureInfo.InvariantCulture), j + 0.5, k - i - 0.5);
                text.LabelAlignment = Alignment.MiddleCenter;
                text.LabelFontSize = k > 12 ? 9 : 14;
                // This colormap is dark at 0 and light at 1.
                text.LabelFontColor = share[i, j] > 0.5 ? Colors.Black : Colors.White;
            }
        }

        var every = (k + 59) / 60;
        var named = Enumerable.Range(0, k).Where(i => i % every == 0).ToArray();
        plot.Axes.Bottom.SetTicks(named.Select(i => i + 0.5).ToArray(), named.Select(i => classes[i]).ToArray());
        plot.Axes.Left.SetTicks(named.Select(i => k - i - 0.5).ToArray(), named.Select(i => classes[i]).ToArray());
        plot.Axes.SetLimits(0, k, 0, k);
        Label(plot, every == 1 ? title : $"{title} (one class in {every} named)", "predicted class", "true class");
        plot.Add.ColorBar(heatmap);
        var side = Math.Min(ConfusionMaxSide, Math.Max(500, 60 * k + 200));
        Cli.PartialOutputFile.WriteFile(path, p => plot.SavePng(p, side + 100, side));
        return path;
    }

    /// <summary>One forecast: the history, the truth after it, the forecast and its bounds (when given).</summary>
    public static string Forecast(
        IReadOnlyList<double> history, IReadOnlyList<double> truth, IReadOnlyList<double> forecast, IReadOnlyList<double>? lower,
        IReadOnlyList<double>? upper, string path, string title)
    {
        var plot = new Plot();
        var start = history.Count;
        var hx = Enumerable.Range(0, history.Count).Select(i => (double)i).ToArray();
        var fx = Enumerable.Range(start, forecast.Count).Select(i => (double)i).ToArray();
        if (lower is not null && upper is not null)
        {
            var band = plot.Add.FillY(fx, lower.ToArray(), upper.ToArray());
            band.FillColor = Colors.Orange.WithAlpha(0.25);
            band.LineColor = Colors.Transparent;
            band.LegendText = "bounds";
        }

        var h = plot.Add.ScatterLine(hx, history.ToArray(), Colors.Gray);
        h.LegendText = "history";
        var t = plot.Add.ScatterLine(Enumerable.Range(start, truth.Count).Select(i => (double)i).ToArray(), truth.ToArray(), Colors.Black);
        t.LegendText = "truth";
        t.LineWidth = 2;
        var f = plot.Add.ScatterLine(fx, forecast.ToArray(), Colors.OrangeRed);
        f.LegendText = "forecast";
        f.LineWidth = 2;
        f.LinePattern = LinePattern.Dashed;
        Label(plot, title, "step", "value");
        plot.ShowLegend(Alignment.UpperLeft);
        Cli.PartialOutputFile.WriteFile(path, p => plot.SavePng(p, Width, Height));
        return path;
    }

    private static void Series(Plot plot, double[] x, IEnumerable<double?> values, string name)
    {
        var y = values.ToArray();
        if (y.All(v => v is null))
        {
            return;
        }

        var points = x.Zip(y).Where(p => p.Second is not null).ToArray();
        var line = plot.Add.ScatterLine(points.Select(p => p.First).ToArray(), points.Select(p => p.Second!.Value).ToArray());
        line.LegendText = name;
        line.LineWidth = 2;
        plot.ShowLegend();
    }

    private static void Label(Plot plot, string title, string x, string y)
    {
        plot.Title(title);
        plot.XLabel(x);
        plot.YLabel(y);
    }
}
