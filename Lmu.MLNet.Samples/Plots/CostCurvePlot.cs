using ScottPlot;

namespace Lmu.MLNet.Samples.Plots;

/// <summary>
/// The cost curve of <c>bench-curve</c> as one PNG: seconds per training step and the peak memory a step adds, against
/// T (at a fixed batch) and against the batch (at a fixed T), ours solid and the peer dashed, one colour per
/// configuration; both axes logarithmic (base 2 for the sizes), so a slope of 1 is a cost linear in that size.
/// </summary>
internal static class CostCurvePlot
{
    /// <summary>One measured point of one side.</summary>
    public sealed record Point(string Config, string Side, int Steps, int Batch, double Seconds, double PeakMiB);

    public static string Save(IReadOnlyList<Point> points, int fixedBatch, int fixedSteps, string path, string title)
    {
        var multiplot = new Multiplot();
        multiplot.AddPlots(4);
        Panel(multiplot.GetPlot(0), points.Where(p => p.Batch == fixedBatch), p => p.Steps, p => p.Seconds, $"{title}: train step, batch {fixedBatch}", "T (steps)", "seconds");
        Panel(multiplot.GetPlot(1), points.Where(p => p.Batch == fixedBatch), p => p.Steps, p => p.PeakMiB, $"peak memory a step adds, batch {fixedBatch}", "T (steps)", "MiB");
        Panel(multiplot.GetPlot(2), points.Where(p => p.Steps == fixedSteps), p => p.Batch, p => p.Seconds, $"train step, T {fixedSteps}", "batch", "seconds");
        Panel(multiplot.GetPlot(3), points.Where(p => p.Steps == fixedSteps), p => p.Batch, p => p.PeakMiB, $"peak memory a step adds, T {fixedSteps}", "batch", "MiB");
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(2, 2);
        Cli.PartialOutputFile.WriteFile(path, p => multiplot.SavePng(p, 1400, 900));
        return path;
    }

    private static void Panel(Plot plot, IEnumerable<Point> points, Func<Point, int> x, Func<Point, double> y, string title, string xLabel, string yLabel)
    {
        var palette = new ScottPlot.Palettes.Category10();
        int colour = 0;
        foreach (var config in points.Select(p => p.Config).Distinct().ToList())
        {
            var c = palette.GetColor(colour++);
            foreach (var side in new[] { "ours", "peer" })
            {
                var series = points.Where(p => p.Config == config && p.Side == side && y(p) > 0).OrderBy(x).ToArray();
                if (series.Length == 0) continue;
                var line = plot.Add.ScatterLine(series.Select(p => Math.Log2(x(p))).ToArray(), series.Select(p => Math.Log10(y(p))).ToArray());
                line.LegendText = $"{config} {side}";
                line.Color = c;
                line.LineWidth = 2;
                line.MarkerSize = 6;
                if (side == "peer") line.LinePattern = LinePattern.Dashed;
            }
        }
        plot.ShowLegend();
        plot.Title(title);
        plot.XLabel($"log2 {xLabel}");
        plot.YLabel($"log10 {yLabel}");
    }
}
