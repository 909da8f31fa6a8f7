using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// The series of <c>lmu forecast</c> as the forecaster reads them (the series layout: Value, SeriesId and each
/// covariate under its own name), forecasts read back from scored windows, and the forecast.csv file.
/// </summary>
internal static class ForecastScoring
{
    /// <summary>One forecast with its bounds, in double precision.</summary>
    public sealed record Scored(double[] Forecast, double[] Lower, double[] Upper);

    /// <summary>Forecast, Lower and Upper of every window row the model scores.</summary>
    public static List<Scored> Forecast(LmuForecastTransformer model, IDataView windows)
    {
        var scored = model.Transform(windows);
        static double[][] Column(IDataView v, string name) => v.GetColumn<float[]>(name).Select(a => a.Select(x => (double)x).ToArray()).ToArray();
        var f = Column(scored, "Forecast");
        var lo = Column(scored, "Lower");
        var hi = Column(scored, "Upper");
        return f.Select((x, i) => new Scored(x, lo[i], hi[i])).ToList();
    }

    /// <summary>The series layout: Value, SeriesId (text) and each covariate under its own name, series after series.</summary>
    public static IDataView SeriesView(IReadOnlyList<ForecastSeriesData> series, IReadOnlyList<string> covariates)
    {
        var columns = new List<(string, DataViewType, Array)>
        {
            ("Value", NumberDataViewType.Single, series.SelectMany(x => x.Values).Select(v => (float)v).ToArray()),
            ("SeriesId", TextDataViewType.Instance, series.SelectMany(x => Enumerable.Repeat(x.Id, x.Values.Length)).ToArray()),
        };
        for (var c = 0; c < covariates.Count; c++)
        {
            var k = c;
            columns.Add((covariates[c], NumberDataViewType.Single, series.SelectMany(x => x.Covariates[k]).Select(v => (float)v).ToArray()));
        }

        return new ForecastRowsDataView(columns);
    }

    /// <summary>forecast.csv: one line per series and horizon step.</summary>
    public static void WriteForecasts(string path, IReadOnlyList<ForecastSeriesData> series, List<Scored> next)
    {
        using var writer = new StreamWriter(path);
        // With a time column, each step's time (FutureTimes); without one, the layout as it was.
        var timed = series.Any(s => s.Times is { Length: > 1 });
        var businessDays = timed && Seasonality.BusinessDays(series);
        writer.WriteLine(timed ? "series,step,time,forecast,lower,upper" : "series,step,forecast,lower,upper");
        for (var i = 0; i < series.Count; i++)
        {
            var times = timed ? FutureTimes.Of(series[i], next[i].Forecast.Length, businessDays) : null;
            for (var k = 0; k < next[i].Forecast.Length; k++)
            {
                string[] step = timed ? [(k + 1).ToString(CultureInfo.InvariantCulture), times?[k] ?? string.Empty] : [(k + 1).ToString(CultureInfo.InvariantCulture)];
                writer.WriteLine(string.Join(',', [Quote(series[i].Id), .. step, F(next[i].Forecast[k]), F(next[i].Lower[k]), F(next[i].Upper[k])]));
            }
        }

        // QA: values within a few percent of float32's maximum gave forecasts of Infinity, written without a word.
        var overflowed = next.Sum(n => n.Forecast.Concat(n.Lower).Concat(n.Upper).Count(v => !double.IsFinite(v)));
        if (overflowed > 0)
        {
            Console.Error.WriteLine(
                $"warning: {overflowed} forecast or bound value(s) in {Path.GetFileName(path)} are not finite: the model scores in float32, whose largest value is " +
                "about 3.4e38, and the series comes close to it. Rescale the series (divide it by a power of ten) and scale the forecasts back.");
        }

        // The model scores in float32: its shortest round-trip form (QA: 234.85780334472656 for 234.8578).
        static string F(double v) => ((float)v).ToString("R", CultureInfo.InvariantCulture);
        static string Quote(string s) => s.Contains(',') || s.Contains('"') ? $"\"{s.Replace("\"", "\"\"")}\"" : s;
    }
}
