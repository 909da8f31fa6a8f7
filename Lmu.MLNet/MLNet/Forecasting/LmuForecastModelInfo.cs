namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Facts about a trained LMU forecaster (plain data; kept in memory only, not in the model zip): its columns and
/// shape, its fingerprint, and the training facts every LMU model reports.
/// </summary>
public sealed class LmuForecastModelInfo : LmuTrainedModelInfo
{
    /// <summary>Window length T the model reads.</summary>
    public required int WindowSize { get; init; }

    /// <summary>Values per forecast.</summary>
    public required int Horizon { get; init; }

    /// <summary>The window column read at scoring (window layout).</summary>
    public required string WindowColumnName { get; init; }

    /// <summary>The series column Fit read (series layout), or null when Fit read windows.</summary>
    public string? SeriesColumnName { get; init; }

    /// <summary>
    /// The series id column Fit read (stacked series), or null for one series or windows. Scoring series-layout rows
    /// that hold this column (<see cref="LmuForecastWindows.Score"/>) needs it, so windows never span two series.
    /// </summary>
    public string? SeriesIdColumnName { get; init; }

    /// <summary>Covariate window columns read at scoring, in channel order.</summary>
    public required IReadOnlyList<string> CovariateColumnNames { get; init; }

    /// <summary>Coverage of the bound columns (meaningful when <see cref="HasBounds"/>).</summary>
    public required double ConfidenceLevel { get; init; }

    /// <summary>Whether the model writes lower and upper bound columns.</summary>
    public required bool HasBounds { get; init; }

    /// <summary>
    /// SHA-256 (64 lowercase hex digits) of the forecast model (weights, sizes, scaling, bound offsets, column names):
    /// the <see cref="LmuForecastEngine.ModelFingerprint"/> of the transformer's engines and of their checkpoints.
    /// </summary>
    public required string ModelFingerprint { get; init; }

    /// <summary>The facts of <paramref name="model"/> with the given training facts (Fit's, or empty ones for a model made otherwise).</summary>
    internal static LmuForecastModelInfo Of(
        LmuForecastModel model, string? seriesColumn, string? seriesIdColumn, long parameters, int seed, string device, long rows, Training.LmuTrainingResult result, TimeSpan fitTime,
        IReadOnlyList<double> thetas) => new()
    {
        WindowSize = model.WindowSize, Horizon = model.Horizon, WindowColumnName = model.WindowColumn, SeriesColumnName = seriesColumn,
        SeriesIdColumnName = seriesColumn is null ? null : seriesIdColumn,
        CovariateColumnNames = model.CovariateColumns, ConfidenceLevel = model.ConfidenceLevel, HasBounds = model.HasBounds,
        ModelFingerprint = model.Fingerprint, ParameterCount = parameters, Seed = seed, Device = device, TrainingRows = rows,
        History = result.History, BestEpoch = result.BestEpoch, FitTime = fitTime, LayerThetas = thetas,
    };
}
