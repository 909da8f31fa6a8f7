using System.Globalization;
using Microsoft.ML;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// The forecaster's training data as a stream of series that can be read again for every epoch, with what one
/// checking pass found: counts, the covariate statistics and the training/validation split. Nothing is kept but those
/// numbers (and the ids seen, to prove each series' rows are consecutive), so memory does not grow with the data.
/// </summary>
/// <remarks>
/// Series-layout rows of one series must be consecutive to be streamed. When they are not (rows of several series
/// interleaved, e.g. sorted by time), the series are read into memory as before and <see cref="Streamed"/> is false.
/// </remarks>
internal sealed class ForecastTrainingData
{
    private readonly Func<IEnumerable<ForecastSeries>> _read;

    private ForecastTrainingData(Func<IEnumerable<ForecastSeries>> read, bool streamed)
    {
        _read = read;
        Streamed = streamed;
    }

    /// <summary>False when the series were read into memory because their rows were interleaved.</summary>
    public bool Streamed { get; }

    public long SeriesCount { get; private set; }

    /// <summary>Target values over all series (rows of the series layout).</summary>
    public long Points { get; private set; }

    public long TrainWindows { get; private set; }

    public long ValidationWindows { get; private set; }

    public double[] Location { get; private set; } = [];

    public double[] Scale { get; private set; } = [];

    public ForecastWindowSplit Split { get; private set; } = null!;

    /// <summary>Id of a series whose rows appeared in two places, when <see cref="Streamed"/> is false.</summary>
    public string? InterleavedId { get; private set; }

    /// <summary>A fresh pass over the series, in data order.</summary>
    public IEnumerable<ForecastSeries> Read() => _read();

    /// <summary>Checks every column and value (clear errors before training) and computes the statistics, in one streaming pass.</summary>
    public static ForecastTrainingData Scan(IDataView data, LmuForecastingOptions o, Func<bool> canceled)
    {
        int t = o.WindowSize, h = o.Horizon;
        if (o.SeriesColumnName is null)
        {
            var windows = new ForecastTrainingData(() => ForecastDataReader.StreamWindows(data, o.WindowColumnName, o.LabelColumnName, o.CovariateColumnNames, t, h), true);
            windows.Measure(o, canceled);
            return windows;
        }

        var streamed = new ForecastTrainingData(() => ForecastDataReader.StreamSeries(data, o.SeriesColumnName, o.SeriesIdColumnName, o.CovariateColumnNames), true);
        if (streamed.Measure(o, canceled))
        {
            return streamed;
        }

        // Interleaved rows: group them in memory (ReadSeries' own checks and messages), as before streaming existed.
        var series = ForecastDataReader.ReadSeries(data, o.SeriesColumnName, o.SeriesIdColumnName, o.CovariateColumnNames, t, h);
        var held = new ForecastTrainingData(() => series, false) { InterleavedId = streamed.InterleavedId };
        held.Measure(o, canceled);
        return held;
    }

    /// <summary>
    /// One pass: counts, statistics, lengths; false (and <see cref="InterleavedId"/> set) as soon as a series id comes
    /// back after another series. Sums run series by series, value by value, as the in-memory statistics always did.
    /// </summary>
    private bool Measure(LmuForecastingOptions o, Func<bool> canceled)
    {
        int t = o.WindowSize, h = o.Horizon;
        var channels = 1 + o.CovariateColumnNames.Count;
        var sum = new double[channels];
        var sq = new double[channels];
        var ids = o.SeriesColumnName is null ? null : new HashSet<string>(StringComparer.Ordinal);
        // Window counts as if series had several windows each; replaced below when every series has exactly one.
        var several = new ForecastWindowSplit(t, h, o.WindowStride, o.ValidationFraction, false, 0);
        (string Id, int Length)? tooShort = null;
        var oneEach = true;
        foreach (var s in Read())
        {
            if (canceled())
            {
                throw new OperationCanceledException("ForecastByLmu: Fit was cancelled while scanning the training data.");
            }

            if (ids is not null && Streamed && !ids.Add(s.Id))
            {
                InterleavedId = s.Id;
                return false;
            }

            for (var c = 0; c < channels; c++)
            {
                foreach (var v in c == 0 ? s.Target : s.Covariates[c - 1])
                {
                    sum[c] += v;
                    sq[c] += v * v;
                }
            }

            tooShort ??= s.Target.Length < t + h ? (s.Id, s.Target.Length) : null;
            oneEach &= s.WindowCount(t, h) == 1;
            var (train, valid) = several.Of(SeriesCount, s.Target.Length);
            TrainWindows += train.Count;
            ValidationWindows += valid.Count;
            SeriesCount++;
            Points += s.Target.Length;
        }

        if (SeriesCount == 0)
        {
            throw new ArgumentException(o.SeriesColumnName is null
                ? $"The training data has no rows (window column '{o.WindowColumnName}')."
                : $"The training data has no rows; the series column '{o.SeriesColumnName}' needs at least {t + h} values.");
        }

        if (tooShort is var (id, length))
        {
            var which = o.SeriesIdColumnName is null ? $"The series in column '{o.SeriesColumnName}'" : $"Series '{id}' (column '{o.SeriesIdColumnName}')";
            throw new ArgumentException(
                $"{which} has {length} values; it must have at least WindowSize + Horizon = {t} + {h} = {t + h}.");
        }

        Split = oneEach ? new ForecastWindowSplit(t, h, o.WindowStride, o.ValidationFraction, true, SeriesCount) : several;
        if (oneEach)
        {
            ValidationWindows = (long)Math.Floor(SeriesCount * o.ValidationFraction);
            TrainWindows = SeriesCount - ValidationWindows;
        }

        if (TrainWindows == 0)
        {
            throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"ValidationFraction = {o.ValidationFraction} leaves no training windows."));
        }

        (Location, Scale) = Statistics(sum, sq, Points, channels);
        return true;
    }

    // Target: only used with Global scaling; covariates always. A constant channel carries no information; scale 1 keeps it finite.
    private static (double[] Location, double[] Scale) Statistics(double[] sum, double[] sq, long n, int channels)
    {
        var loc = new double[channels];
        var scale = new double[channels];
        for (var c = 0; c < channels; c++)
        {
            var mean = sum[c] / n;
            var std = Math.Sqrt(Math.Max(0, sq[c] / n - mean * mean));
            loc[c] = mean;
            // Constant relative to the channel's own level: an absolute 1e-12 also made series in small units (QA: values
            // of 1e-20) "constant", unscaled.
            scale[c] = std > 0 && std > 1e-12 * Math.Abs(mean) ? std : 1;
        }

        return (loc, scale);
    }
}
