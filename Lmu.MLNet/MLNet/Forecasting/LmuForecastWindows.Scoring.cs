using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

// Scoring helpers: the last window (or windows at chosen ends) of each series in the scoring layout, and forecasts
// for series-layout rows.
public static partial class LmuForecastWindows
{
    /// <summary>Name of the Int32 column holding the 0-based position, within its series, of each window's last value.</summary>
    public const string WindowEndColumn = "WindowEnd";

    /// <summary>
    /// The last <paramref name="windowSize"/> values of every series in the scoring layout (one row per series, in order of
    /// first appearance): what the fitted forecaster scores to forecast what follows each series, with no hand-built
    /// SchemaDefinition. Columns: <paramref name="seriesIdColumn"/> (Text, when given), <see cref="WindowEndColumn"/>
    /// (Int32), <paramref name="windowColumn"/> (Vector&lt;Single, windowSize&gt;) and one Vector&lt;Single, windowSize&gt;
    /// per covariate, with the covariate's name.
    /// </summary>
    /// <param name="data">Series layout: one value per row, rows of each series in time order.</param>
    /// <param name="seriesColumn">Scalar Single series column.</param>
    /// <param name="windowSize">Window length T (the model's <see cref="LmuForecastModelInfo.WindowSize"/>).</param>
    /// <param name="seriesIdColumn">Series id column (Text or a number) for stacked series. Default null (one series).</param>
    /// <param name="covariates">Scalar Single covariate columns (the model's covariates). Default none.</param>
    /// <param name="windowColumn">Output window column. Default "Window".</param>
    /// <exception cref="ArgumentException">A missing or mistyped column, a non-finite value, or a series shorter than windowSize.</exception>
    public static IDataView LastWindows(
        IDataView data, string seriesColumn, int windowSize, string? seriesIdColumn = null, IReadOnlyList<string>? covariates = null,
        string windowColumn = "Window") =>
        WindowsEndingAt(data, seriesColumn, windowSize, [-1], seriesIdColumn, covariates, windowColumn);

    /// <summary>
    /// Windows of every series that end at the chosen positions, in the scoring layout of <see cref="LastWindows"/> (rows:
    /// series in order of first appearance, then <paramref name="ends"/> in the order given).
    /// </summary>
    /// <param name="data">Series layout: one value per row, rows of each series in time order.</param>
    /// <param name="seriesColumn">Scalar Single series column.</param>
    /// <param name="windowSize">Window length T.</param>
    /// <param name="ends">
    /// 0-based positions, within each series, of the windows' last values; a negative position counts from the end
    /// (-1 is the last value). Each must leave a full window: windowSize - 1 &lt;= position &lt; the series' length.
    /// </param>
    /// <param name="seriesIdColumn">Series id column for stacked series (any scalar type; written back as Text). Default null (one series).</param>
    /// <param name="covariates">Scalar Single covariate columns. Default none.</param>
    /// <param name="windowColumn">Output window column. Default "Window".</param>
    /// <exception cref="ArgumentException">A missing or mistyped column, a non-finite value, or an end without a full window (naming the series).</exception>
    public static IDataView WindowsEndingAt(
        IDataView data, string seriesColumn, int windowSize, IReadOnlyList<int> ends, string? seriesIdColumn = null,
        IReadOnlyList<string>? covariates = null, string windowColumn = "Window")
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(ends);
        if (windowSize < 1)
        {
            throw new ArgumentException($"WindowSize = {windowSize} must be at least 1.", nameof(windowSize));
        }

        if (ends.Count == 0)
        {
            throw new ArgumentException("No window ends given.", nameof(ends));
        }

        covariates ??= [];
        CheckOutputNames(windowColumn, covariates, seriesIdColumn);
        var series = ForecastDataReader.ReadSeries(data, seriesColumn, seriesIdColumn, covariates, 1, 0, allowEmpty: true);
        var ids = new List<string>();
        var positions = new List<int>();
        var windows = new List<float[]>();
        var covWindows = covariates.Select(_ => new List<float[]>()).ToArray();
        foreach (var s in series)
        {
            foreach (var e in ends)
            {
                var end = e < 0 ? s.Target.Length + e : e;
                if (end < windowSize - 1 || end >= s.Target.Length)
                {
                    var which = seriesIdColumn is null ? $"The series in column '{seriesColumn}'" : $"Series '{s.Id}' (column '{seriesIdColumn}')";
                    throw new ArgumentException(
                        $"{which} has {s.Target.Length} values, so no window of {windowSize} ends at position {e}" +
                        (e < 0 ? $" ({end} from the start)" : string.Empty) + $": the end must be in [{windowSize - 1}, {s.Target.Length - 1}].",
                        nameof(ends));
                }

                var start = end - windowSize + 1;
                ids.Add(s.Id);
                positions.Add(end);
                windows.Add(Slice(s.Target, start, windowSize));
                for (var c = 0; c < covariates.Count; c++)
                {
                    covWindows[c].Add(Slice(s.Covariates[c], start, windowSize));
                }
            }
        }

        var vector = new VectorDataViewType(NumberDataViewType.Single, windowSize);
        var columns = new List<(string, DataViewType, Array)>();
        if (seriesIdColumn is not null)
        {
            columns.Add((seriesIdColumn, TextDataViewType.Instance, ids.ToArray()));
        }

        columns.Add((WindowEndColumn, NumberDataViewType.Int32, positions.ToArray()));
        columns.Add((windowColumn, vector, windows.ToArray()));
        columns.AddRange(covariates.Select((c, i) => (c, (DataViewType)vector, (Array)covWindows[i].ToArray())));
        return new ForecastRowsDataView(columns);
    }

    /// <summary>
    /// Scores series-layout rows (what Fit reads) with a fitted or resumed forecaster: one output row per input row,
    /// holding the forecast of the values that follow that row, made from the window of the row and the
    /// <c>WindowSize - 1</c> rows before it in its series. Rows before a series' first full window get forecasts (and
    /// bounds) of NaN. Each forecast equals the model's <c>Transform</c> of that window in the window layout, bit for bit.
    /// </summary>
    /// <remarks>
    /// Output rows come per series, in order of each series' first appearance, each series' rows in input order (the
    /// input order when the rows of each series are contiguous). Columns: <paramref name="seriesIdColumn"/> (when given;
    /// always Text, whatever its input type: a Single id 3 comes back as "3", so read it back as a string), "Position" (Int32, the row's 0-based position in its series), the series column and covariates (Single),
    /// then the model's forecast and bound columns (Vector&lt;Single, Horizon&gt;).
    /// <para>Score reads the series into memory (8 bytes per value and covariate) and checks them; the result is lazy, as
    /// ML.NET's <c>Transform</c> is: the model runs on one window at a time while the forecast columns are read, so
    /// keep the model undisposed until then (a cursor asked for after it is disposed throws
    /// <see cref="ObjectDisposedException"/>). Every read runs the model again; cache the result
    /// (<c>mlContext.Data.Cache</c>) to read it several times without that.</para>
    /// </remarks>
    /// <param name="model">The fitted forecaster.</param>
    /// <param name="data">Series layout: one value per row, rows of each series in time order, with the model's covariates as scalar Single columns.</param>
    /// <param name="seriesColumn">Scalar Single series column.</param>
    /// <param name="seriesIdColumn">Series id column for stacked series. Default null (one series).</param>
    /// <exception cref="ArgumentException">
    /// A missing or mistyped column, a non-finite value, or no <paramref name="seriesIdColumn"/> for data that holds the
    /// series id column the model was trained with (<see cref="LmuForecastModelInfo.SeriesIdColumnName"/>).
    /// </exception>
    public static IDataView Score(LmuForecastTransformer model, IDataView data, string seriesColumn, string? seriesIdColumn = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var trainedId = model.Info.SeriesIdColumnName;
        if (seriesIdColumn is null && trainedId is not null && data.Schema.GetColumnOrNull(trainedId) is { IsHidden: false })
        {
            // Without the id every row reads as one series, so windows would run across series boundaries (found by QA).
            throw new ArgumentException(
                $"The data has the series id column '{trainedId}' the model was trained with, but no seriesIdColumn was given, so its " +
                $"series would be read as one and windows would span two series; pass seriesIdColumn: \"{trainedId}\".",
                nameof(seriesIdColumn));
        }

        var m = model.Model;
        var covariates = m.CovariateColumns;
        var series = ForecastDataReader.ReadSeries(data, seriesColumn, seriesIdColumn, covariates, 1, 0, allowEmpty: true);
        var outputs = new List<string> { m.ForecastColumn };
        if (m.HasBounds)
        {
            outputs.Add(m.LowerBoundColumn!);
            outputs.Add(m.UpperBoundColumn!);
        }

        var names = new List<string> { "Position", seriesColumn };
        names.AddRange(covariates);
        names.AddRange(outputs);
        if (seriesIdColumn is not null)
        {
            names.Add(seriesIdColumn);
        }

        CheckDistinct(names);
        // Lazy both ways: windows are cut as the model reads them, and the model runs as the result is read.
        var scored = model.Transform(new SeriesWindowRows(series, m.WindowSize, 0, m.WindowColumn, covariates, labelColumn: null));
        return new ScoredSeriesRows(series, m.WindowSize, m.Horizon, scored, outputs, (seriesIdColumn, seriesColumn, covariates));
    }

    private static void CheckOutputNames(string windowColumn, IReadOnlyList<string> covariates, string? seriesIdColumn)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(windowColumn);
        var names = new List<string> { WindowEndColumn, windowColumn };
        names.AddRange(covariates);
        if (seriesIdColumn is not null)
        {
            names.Add(seriesIdColumn);
        }

        CheckDistinct(names);
    }

    private static void CheckDistinct(IEnumerable<string> names)
    {
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"The output would have two columns named '{duplicate.Key}'; rename the input column or the window column.");
        }
    }
}
