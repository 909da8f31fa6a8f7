namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Regression-style forecast accuracy, as computed by <see cref="ForecastEvaluator.Evaluate"/>.
/// MAE, RMSE and NRMSE pool every forecast point; sMAPE and MASE are computed per outcome (per series or forecast
/// origin) and then averaged, as the M4 competition does.
/// </summary>
/// <param name="MeanAbsoluteError">mean |y - f| over all points.</param>
/// <param name="RootMeanSquaredError">sqrt(mean (y - f)^2) over all points.</param>
/// <param name="SymmetricMape">M4 sMAPE in percent: mean over outcomes of (200/h) sum |y - f| / (|y| + |f|).</param>
/// <param name="MeanAbsoluteScaledError">M4 MASE: mean over outcomes of mean |y - f| divided by the in-sample mean
/// absolute seasonal difference at lag m; null when an outcome has no in-sample history.</param>
/// <param name="NormalizedRmse">RMSE divided by the population standard deviation of all actual values; NaN when
/// every actual value is the same (a deviation of 0: no scale to normalise by), infinite never.</param>
/// <param name="Points">Number of forecast points.</param>
/// <param name="Outcomes">Number of outcomes (series or origins).</param>
public sealed record ForecastMetrics(
    double MeanAbsoluteError,
    double RootMeanSquaredError,
    double SymmetricMape,
    double? MeanAbsoluteScaledError,
    double NormalizedRmse,
    long Points,
    int Outcomes);
