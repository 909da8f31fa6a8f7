using Lmu.MLNet.Forecasting;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.Forecasting;

/// <summary>A series (and covariates Cov0, Cov1, ...) as an IDataView with scalar Single columns "Value", "Cov{k}".</summary>
internal static class SeriesView
{
    public static IDataView Create(MLContext ml, float[] values, float[][] covariates)
    {
        _ = ml;
        var columns = new List<(string, int, float[][])> { ("Value", 0, values.Select(v => new[] { v }).ToArray()) };
        columns.AddRange(covariates.Select((c, k) => ($"Cov{k}", 0, c.Select(v => new[] { v }).ToArray())));
        return new FloatColumnsDataView(columns);
    }
}
