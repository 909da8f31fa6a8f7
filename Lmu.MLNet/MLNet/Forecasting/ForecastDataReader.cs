using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>Reads training series from an IDataView, checking every column and value before training starts.</summary>
internal static class ForecastDataReader
{
    /// <summary>Series layout: one value per row, optionally grouped by an id column; no rows is an error unless <paramref name="allowEmpty"/> (scoring: no rows in, none out).</summary>
    public static List<ForecastSeries> ReadSeries(
        IDataView data, string seriesColumn, string? idColumn, IReadOnlyList<string> covariates, int window, int horizon, bool allowEmpty = false)
    {
        var target = Column(data.Schema, seriesColumn, "series", NumberDataViewType.Single);
        var covs = covariates.Select(c => Column(data.Schema, c, "covariate", NumberDataViewType.Single)).ToArray();
        DataViewSchema.Column? id = idColumn is null ? null : Column(data.Schema, idColumn, "series id", null);
        var order = new List<string>();
        var groups = new Dictionary<string, (List<double> Target, List<double>[] Covs)>();
        using (var cursor = data.GetRowCursor([target, .. covs, .. id is null ? Array.Empty<DataViewSchema.Column>() : [id.Value]]))
        {
            var getTarget = cursor.GetGetter<float>(target);
            var getCovs = covs.Select(c => cursor.GetGetter<float>(c)).ToArray();
            var getId = id is null ? (() => "0") : IdGetter(cursor, id.Value);
            long row = 0;
            while (cursor.MoveNext())
            {
                var key = getId();
                if (!groups.TryGetValue(key, out var g))
                {
                    g = (new List<double>(), covs.Select(_ => new List<double>()).ToArray());
                    groups[key] = g;
                    order.Add(key);
                }

                float v = 0;
                getTarget(ref v);
                g.Target.Add(Finite(v, seriesColumn, row, key, idColumn));
                for (var c = 0; c < covs.Length; c++)
                {
                    getCovs[c](ref v);
                    g.Covs[c].Add(Finite(v, covariates[c], row, key, idColumn));
                }

                row++;
            }
        }

        if (order.Count == 0 && !allowEmpty)
        {
            throw new ArgumentException($"The training data has no rows; the series column '{seriesColumn}' needs at least {window + horizon} values.");
        }

        var result = new List<ForecastSeries>();
        foreach (var key in order)
        {
            var (t, c) = groups[key];
            if (t.Count < window + horizon)
            {
                var which = idColumn is null ? $"The series in column '{seriesColumn}'" : $"Series '{key}' (column '{idColumn}')";
                throw new ArgumentException(
                    $"{which} has {t.Count} values; it must have at least WindowSize + Horizon = {window} + {horizon} = {window + horizon}.");
            }

            result.Add(new ForecastSeries(key, t.ToArray(), c.Select(l => l.ToArray()).ToArray()));
        }

        return result;
    }

    /// <summary>
    /// Series layout, streamed: one pass of a fresh cursor yielding each run of consecutive rows with the same id as a
    /// series, so that only one series is in memory at a time. A series whose rows are not consecutive comes out as
    /// several runs; callers that need whole series check that no id repeats (<see cref="ForecastTrainingData"/>).
    /// Values are checked as <see cref="ReadSeries"/> checks them; lengths are not.
    /// </summary>
    public static IEnumerable<ForecastSeries> StreamSeries(IDataView data, string seriesColumn, string? idColumn, IReadOnlyList<string> covariates)
    {
        var target = Column(data.Schema, seriesColumn, "series", NumberDataViewType.Single);
        var covs = covariates.Select(c => Column(data.Schema, c, "covariate", NumberDataViewType.Single)).ToArray();
        DataViewSchema.Column? id = idColumn is null ? null : Column(data.Schema, idColumn, "series id", null);
        return Stream();

        IEnumerable<ForecastSeries> Stream()
        {
            using var cursor = data.GetRowCursor([target, .. covs, .. id is null ? Array.Empty<DataViewSchema.Column>() : [id.Value]]);
            var getTarget = cursor.GetGetter<float>(target);
            var getCovs = covs.Select(c => cursor.GetGetter<float>(c)).ToArray();
            var getId = id is null ? (() => "0") : IdGetter(cursor, id.Value);
            string? current = null;
            var values = new List<double>();
            var covValues = covs.Select(_ => new List<double>()).ToArray();
            long row = 0;
            while (cursor.MoveNext())
            {
                var key = getId();
                if (current is not null && key != current)
                {
                    yield return Take(current, values, covValues);
                }

                current = key;
                float v = 0;
                getTarget(ref v);
                values.Add(Finite(v, seriesColumn, row, key, idColumn));
                for (var c = 0; c < covs.Length; c++)
                {
                    getCovs[c](ref v);
                    covValues[c].Add(Finite(v, covariates[c], row, key, idColumn));
                }

                row++;
            }

            if (current is not null)
            {
                yield return Take(current, values, covValues);
            }
        }

        // Copies the run out and empties the lists for the next one (their capacity is kept: one series' worth).
        static ForecastSeries Take(string key, List<double> values, List<double>[] covValues)
        {
            var s = new ForecastSeries(key, values.ToArray(), covValues.Select(l => l.ToArray()).ToArray());
            values.Clear();
            foreach (var l in covValues)
            {
                l.Clear();
            }

            return s;
        }
    }

    /// <summary>
    /// Window layout: each row becomes a series of WindowSize + Horizon values (window then label) with exactly one
    /// window; covariates are known over the window only, so their horizon part is never read.
    /// </summary>
    public static List<ForecastSeries> ReadWindows(
        IDataView data, string windowColumn, string labelColumn, IReadOnlyList<string> covariates, int window, int horizon)
    {
        var result = StreamWindows(data, windowColumn, labelColumn, covariates, window, horizon).ToList();
        if (result.Count == 0)
        {
            throw new ArgumentException($"The training data has no rows (window column '{windowColumn}').");
        }

        return result;
    }

    /// <summary>Window layout, streamed: one pass of a fresh cursor, one row (one series) in memory at a time.</summary>
    public static IEnumerable<ForecastSeries> StreamWindows(
        IDataView data, string windowColumn, string labelColumn, IReadOnlyList<string> covariates, int window, int horizon)
    {
        var w = Column(data.Schema, windowColumn, "window", NumberDataViewType.Single, window);
        var label = Column(data.Schema, labelColumn, "label", NumberDataViewType.Single, horizon);
        var covs = covariates.Select(c => Column(data.Schema, c, "covariate window", NumberDataViewType.Single, window)).ToArray();
        return Stream();

        IEnumerable<ForecastSeries> Stream()
        {
            using var cursor = data.GetRowCursor([w, label, .. covs]);
            var getW = cursor.GetGetter<VBuffer<float>>(w);
            var getLabel = cursor.GetGetter<VBuffer<float>>(label);
            var getCovs = covs.Select(c => cursor.GetGetter<VBuffer<float>>(c)).ToArray();
            var buffer = default(VBuffer<float>);
            long row = 0;
            while (cursor.MoveNext())
            {
                var id = row.ToString(System.Globalization.CultureInfo.InvariantCulture);
                var target = new double[window + horizon];
                getW(ref buffer);
                Copy(buffer, target, 0, w, row);
                getLabel(ref buffer);
                Copy(buffer, target, window, label, row);
                var covValues = new double[covs.Length][];
                for (var c = 0; c < covs.Length; c++)
                {
                    covValues[c] = new double[window + horizon];
                    getCovs[c](ref buffer);
                    Copy(buffer, covValues[c], 0, covs[c], row);
                }

                yield return new ForecastSeries(id, target, covValues);
                row++;
            }
        }
    }

    /// <summary>A column by name with a clear message when it is absent or of the wrong type.</summary>
    /// <param name="schema">The schema.</param>
    /// <param name="name">Column name.</param>
    /// <param name="role">What the column is for (in messages).</param>
    /// <param name="itemType">Required scalar type, or null for any type.</param>
    /// <param name="vectorSize">0 for a scalar; else the required vector length.</param>
    public static DataViewSchema.Column Column(DataViewSchema schema, string name, string role, DataViewType? itemType, int vectorSize = 0)
    {
        var col = schema.GetColumnOrNull(name) ?? throw new ArgumentException(
            $"The {role} column '{name}' is not in the data; its columns are: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"{c.Name} ({c.Type})"))}.");
        if (itemType is null)
        {
            return col;
        }

        var ok = vectorSize == 0
            ? col.Type.Equals(itemType)
            : col.Type is VectorDataViewType v && v.ItemType.Equals(itemType) && v.Size == vectorSize;
        if (!ok)
        {
            var expected = vectorSize == 0 ? itemType.ToString() : $"Vector<{itemType}, {vectorSize}>";
            throw new ArgumentException($"The {role} column '{name}' has type {col.Type}; expected {expected}.");
        }

        return col;
    }

    /// <summary>
    /// Throws the message <see cref="IdGetter"/> would give when <paramref name="id"/>'s type cannot be a series id: text,
    /// a number of any width, or a key. Why every width and keys: Fit read a key id (by its raw number) and the fitted
    /// model's Transform then refused it, after training (types QA).
    /// </summary>
    internal static void CheckIdType(DataViewSchema.Column id)
    {
        if (!IdTypes.Contains(id.Type.RawType))
        {
            throw new ArgumentException(IdTypeMessage(id));
        }
    }

    private static readonly Type[] IdTypes =
    [
        typeof(ReadOnlyMemory<char>), typeof(float), typeof(double), typeof(sbyte), typeof(byte), typeof(short), typeof(ushort),
        typeof(int), typeof(uint), typeof(long), typeof(ulong),
    ];

    private static string IdTypeMessage(DataViewSchema.Column id) =>
        $"The series id column '{id.Name}' has type {id.Type}; expected Text, a number (Single, Double or an integer type) or a key.";

    internal static Func<string> IdGetter(DataViewRow cursor, DataViewSchema.Column id)
    {
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        switch (id.Type.RawType)
        {
            case var t when t == typeof(ReadOnlyMemory<char>):
                var text = cursor.GetGetter<ReadOnlyMemory<char>>(id);
                return () => { ReadOnlyMemory<char> v = default; text(ref v); return v.ToString(); };
            case var t when t == typeof(float):
                // -0 and 0 are one id (they were two series, "-0" and "0"; types QA).
                var f = cursor.GetGetter<float>(id);
                return () => { float v = 0; f(ref v); return (v == 0 ? 0f : v).ToString("R", culture); };
            case var t when t == typeof(double):
                var d = cursor.GetGetter<double>(id);
                return () => { double v = 0; d(ref v); return (v == 0 ? 0d : v).ToString("R", culture); };
            case var t when t == typeof(sbyte):
                return Whole<sbyte>(cursor, id);
            case var t when t == typeof(byte):
                return Whole<byte>(cursor, id);
            case var t when t == typeof(short):
                return Whole<short>(cursor, id);
            case var t when t == typeof(ushort):
                return Whole<ushort>(cursor, id);
            case var t when t == typeof(int):
                return Whole<int>(cursor, id);
            case var t when t == typeof(uint):
                return Whole<uint>(cursor, id);
            case var t when t == typeof(long):
                return Whole<long>(cursor, id);
            case var t when t == typeof(ulong):
                return Whole<ulong>(cursor, id);
            default:
                throw new ArgumentException(IdTypeMessage(id));
        }
    }

    // An integer id (or a key, by its raw number) as invariant text.
    private static Func<string> Whole<T>(DataViewRow cursor, DataViewSchema.Column id)
        where T : struct, IFormattable
    {
        var get = cursor.GetGetter<T>(id);
        return () => { T v = default; get(ref v); return v.ToString(null, System.Globalization.CultureInfo.InvariantCulture); };
    }

    internal static double Finite(float v, string column, long row, string series, string? idColumn)
    {
        if (!float.IsFinite(v))
        {
            var where = idColumn is null ? string.Empty : $" (series '{series}')";
            var what = float.IsNaN(v) ? "NaN (a gap; fill or interpolate it first)" : v.ToString(System.Globalization.CultureInfo.InvariantCulture);
            throw new ArgumentException($"Column '{column}' is {what} at row {row}{where}; forecasting needs finite values.");
        }

        return v;
    }

    private static void Copy(VBuffer<float> buffer, double[] into, int offset, DataViewSchema.Column vector, long row)
    {
        var column = vector.Name;
        if (buffer.Length != Scoring.VectorSizeRule.KnownSize(vector))
        {
            throw new ArgumentException(Scoring.VectorSizeRule.SizeMessage(vector, buffer.Length, $"Column '{column}', row {row}"));
        }

        var i = 0;
        foreach (var v in buffer.DenseValues())
        {
            if (!float.IsFinite(v))
            {
                throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"Column '{column}' has {v} at slot {i} of row {row}; forecasting needs finite values."));
            }

            into[offset + i++] = v;
        }
    }
}
