using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Any saved classifier or forecaster zip behind JSON: the input schema saved with the model decides the request's
/// fields, the columns the model adds are the answer. PredictionEngines are not thread-safe, so each request rents one
/// from an <see cref="EnginePool{TIn, TOut}"/>; this service owns the model and disposes it once, after the pool has
/// drained. Touches no TorchSharp type: it runs without libtorch.
/// </summary>
internal sealed class ModelService : IDisposable
{
    /// <summary>How long a request waits for a free engine before it gets 503 (only when every engine stays busy that long).</summary>
    public static readonly TimeSpan QueueWait = TimeSpan.FromSeconds(30);

    /// <summary>How long shutdown waits for running predictions before it leaves the engines and model to the process exit.</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(30);

    /// <summary>The smallest default request-body limit.</summary>
    public const long MinDefaultMaxBodyBytes = 64 * 1024;

    /// <summary>The default request-body limit is this many maximal rows (room for indentation and spacing).</summary>
    public const int DefaultBodyRows = 16;

    // The widest JSON of one value: a float in round-trip form ("-1.17549435E-38"), an Int64, a text field's allowance.
    private const int FloatChars = 16;
    private const int IntegerChars = 21;
    private const int TextChars = 4096;

    private readonly MLContext _ml;
    private readonly ITransformer _model;
    private readonly SchemaDefinition _inputDefinition;
    private readonly SchemaDefinition _outputDefinition;
    private readonly EnginePool<ServingInput, ServingOutput> _pool;
    private readonly ScoringHealth _health = new();
    private readonly Dictionary<string, IReadOnlyList<string>?> _keyNames = [];

    /// <summary>
    /// Loads <paramref name="path"/> and works out its request and answer columns; <paramref name="poolSize"/> and
    /// <paramref name="maxBodyBytes"/> of 0 take the defaults. <paramref name="channels"/> is a classifier's channel
    /// count C: a request's sequence length must not exceed T = features width / C.
    /// </summary>
    /// <param name="path">The model zip.</param>
    /// <param name="poolSize">PredictionEngines that may score at once; 0 = the default.</param>
    /// <param name="maxBodyBytes">The largest request body; 0 = sized to the model's inputs.</param>
    /// <param name="channels">A classifier's channel count.</param>
    /// <param name="tempFolder">ML.NET's temp folder for the model's carried graphs (serve gives its run's own); null = the system's.</param>
    /// <param name="drainLimit">How long Dispose waits for running predictions; null = <see cref="DrainLimit"/>.</param>
    public ModelService(string path, int poolSize = 0, long maxBodyBytes = 0, int channels = 1, string? tempFolder = null, TimeSpan? drainLimit = null)
    {
        _ml = tempFolder is null ? new MLContext() : new MLContext { TempFilePath = tempFolder };
        ModelPath = Path.GetFullPath(path);
        // What GET /model reports as the file served: the service never reloads it, so a file replaced on disk went on
        // being described by its name alone while the old model answered (serve QA).
        // Before the hash opens it: a named pipe waited for a writer for ever (files QA).
        EmptyModelFile.Refuse(ModelPath, "The model file", "pass a model saved with mlContext.Model.Save");
        var sha256 = FileSha256(ModelPath);
        PoolSize = poolSize > 0 ? poolSize : Math.Max(4, Environment.ProcessorCount * 2);
        _model = LmuModelFile.Load(_ml, path, out var inputSchema, out var integrity);
        try
        {
            // Read again after the load: a file replaced meanwhile (a deploy copying over it) would be described by the
            // old file's hash while the new model answers (review), so such a start fails instead.
            if (FileSha256(ModelPath) != sha256)
            {
                throw new IOException($"The model file '{path}' changed while it was being loaded (a deploy writing it?); start again once it is in place.");
            }

            if (inputSchema is null)
            {
                throw new InvalidDataException(NoInputSchema(path, "serve"));
            }

            (Sha256, LoadedAt) = (sha256, DateTimeOffset.UtcNow);
            Integrity = integrity;
            Inputs = WithLengthLimits(BindInputs(inputSchema), inputSchema, channels);
            DataViewSchema outputSchema;
            try
            {
                outputSchema = _model.GetOutputSchema(inputSchema);
            }
            catch (ArgumentException e)
            {
                // Regression QA: a forecaster saved with its series rows' schema failed the start with ML.NET's "Could not
                // find input column 'Window'", naming neither the cause nor the fix.
                throw new InvalidDataException(UnrunnableSchema(path, e.Message), e);
            }

            Outputs = BindOutputs(inputSchema, outputSchema);
            foreach (var o in Outputs.Where(o => o.Kind == ServingKind.Key))
            {
                _keyNames[o.Name] = ServingColumn.Names(outputSchema[o.Name]);
            }

            Classes = Outputs.Where(o => o.Kind == ServingKind.Key).Select(o => _keyNames[o.Name]).FirstOrDefault(n => n is not null)
                      ?? Outputs.Where(o => o.Name == "Score").Select(o => ServingColumn.Names(outputSchema[o.Name])).FirstOrDefault();
            Horizon = Outputs.FirstOrDefault(o => o.Name == "Forecast" && o.Kind == ServingKind.Vector)?.Size;
            _inputDefinition = Definition(typeof(ServingInput), Inputs);
            _outputDefinition = Definition(typeof(ServingOutput), Outputs);
            MaxBodyBytes = maxBodyBytes > 0 ? maxBodyBytes : Math.Max(MinDefaultMaxBodyBytes, DefaultBodyRows * MaxRowJsonBytes(Inputs));
            if (MinRowJsonBytes(Inputs) is var smallest && MaxBodyBytes < smallest)
            {
                // Every request would get 413 (QA started a service with --max-body-bytes 10 that answered nothing else).
                throw new ArgumentException(
                    $"--max-body-bytes {MaxBodyBytes} is below the smallest request this model can take ({smallest} bytes: its required fields with one-digit values and no spaces); every request would get 413. Leave it at 0 for the default ({Math.Max(MinDefaultMaxBodyBytes, DefaultBodyRows * MaxRowJsonBytes(Inputs))}).");
            }

            _pool = new EnginePool<ServingInput, ServingOutput>(CreateEngine, PoolSize, drainLimit ?? DrainLimit);
        }
        catch
        {
            // A refusal after the load (a bad --channels or --max-body-bytes) must not leave the ONNX session and
            // ML.NET's temp copy of the graph behind.
            (_model as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>The model file's full path (for the operator's console; never served).</summary>
    public string ModelPath { get; }

    /// <summary>PredictionEngines that may score at once.</summary>
    public int PoolSize { get; }

    /// <summary>Whether the carried graphs matched the hashes sealed in at save (Unsealed: saved before sealing).</summary>
    public LmuModelIntegrity Integrity { get; }

    /// <summary>The largest request body accepted (413 above it).</summary>
    public long MaxBodyBytes { get; }

    /// <summary>Null while scoring works; otherwise why the service is unhealthy.</summary>
    public string? HealthProblem => _pool.IsClosed ? "the service is shutting down" : _health.Problem;

    /// <summary>Tests only: runs before each prediction, on the engine's thread; throwing stands for a failure inside the scorer.</summary>
    internal Action<ServingInput>? BeforeScore { get; set; }

    /// <summary>The request's fields (the model's saved input schema, in order).</summary>
    public IReadOnlyList<ServingColumn> Inputs { get; }

    /// <summary>The answer's fields (columns the model adds or replaces).</summary>
    public IReadOnlyList<ServingColumn> Outputs { get; }

    /// <summary>Class names of a classifier (its predicted key's values or its Score slot names); null otherwise.</summary>
    public IReadOnlyList<string>? Classes { get; }

    /// <summary>Steps of a forecaster's Forecast column; null otherwise.</summary>
    public int? Horizon { get; }

    /// <summary>The SHA-256 of the model file as it was when the service loaded it (hex, lower case).</summary>
    public string Sha256 { get; }

    /// <summary>When the service loaded the model (UTC).</summary>
    public DateTimeOffset LoadedAt { get; }

    /// <summary>What GET /model answers.</summary>
    public object Describe() => new
    {
        // The file name only: where the model lives on the server is none of the caller's business.
        file = Path.GetFileName(ModelPath),
        sha256 = Sha256,
        loadedAt = LoadedAt.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        integrity = Integrity.ToString(),
        kind = Horizon is not null ? "forecaster" : Classes is not null ? "classifier" : "model",
        inputs = Inputs.Select(c => new { name = c.Name, type = c.Type.ToString(), size = c.Size, required = c.Required, maxLength = c.MaxLength }),
        outputs = Outputs.Select(c => new { name = c.Name, type = c.Type.ToString(), size = c.Size }),
        classes = Classes,
        horizon = Horizon,
        maxBodyBytes = MaxBodyBytes,
    };

    /// <summary>
    /// Scores one JSON object: <see cref="ServingRequestException"/> for anything the caller must fix,
    /// <see cref="ServingUnavailableException"/> when no engine came free in time or the service is shutting down;
    /// any other exception is a failure inside the scorer (counted by the health check).
    /// </summary>
    public async Task<Dictionary<string, object?>> PredictAsync(JsonElement request, CancellationToken cancellationToken)
    {
        var row = Parse(request);
        ServingOutput result;
        try
        {
            result = await _pool.RunAsync(engine => Score(engine, row), QueueWait, cancellationToken);
        }
        catch (Exception e) when (e is not (ServingUnavailableException or OperationCanceledException))
        {
            _health.Failed(e);
            throw;
        }

        _health.Succeeded();

        var answer = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var o in Outputs)
        {
            var value = typeof(ServingOutput).GetProperty(o.Member)!.GetValue(result);
            answer[o.Name] = o.Kind == ServingKind.Key ? KeyName(o.Name, (uint)value!) : value;
        }

        return answer;
    }

    /// <summary>Waits for running predictions (up to <see cref="DrainLimit"/>), then disposes the engines and the model once.</summary>
    public void Dispose()
    {
        _pool.Dispose();
        if (_pool.Drained)
        {
            // Every engine is back and disposed: nothing can reach the ONNX session any more.
            (_model as IDisposable)?.Dispose();
        }
    }

    /// <summary>The JSON size of the smallest valid request: {"name":0,"v":[0,0,...]} over the required inputs.</summary>
    private static long MinRowJsonBytes(IEnumerable<ServingColumn> inputs)
    {
        var required = inputs.Where(c => c.Required).ToArray();
        return 2 + Math.Max(0, required.Length - 1) + required.Sum(c => c.Name.Length + 3 + (c.Kind == ServingKind.Vector ? 2 + ((2L * c.Size) - 1) : c.Kind == ServingKind.Text ? 2 : 1));
    }

    /// <summary>The JSON size of one row with every input at its widest.</summary>
    private static long MaxRowJsonBytes(IEnumerable<ServingColumn> inputs) => 2 + inputs.Sum(c => (6L * c.Name.Length) + 4 + c.Kind switch
    {
        ServingKind.Vector => 2 + ((long)c.Size * FloatChars),
        ServingKind.Scalar => FloatChars,
        ServingKind.Integer => IntegerChars,
        _ => TextChars,
    });

    private ServingOutput Score(PredictionEngine<ServingInput, ServingOutput> engine, ServingInput row)
    {
        BeforeScore?.Invoke(row);
        return engine.Predict(row);
    }

    private object KeyName(string column, uint key)
    {
        var names = _keyNames[column];
        // Key 0 is "missing"; keys are 1-based indices into the key values.
        return names is not null && key >= 1 && key <= names.Count ? names[(int)key - 1] : key;
    }

    private ServingInput Parse(JsonElement request)
    {
        if (request.ValueKind != JsonValueKind.Object)
        {
            throw new ServingRequestException($"The request must be a JSON object with the fields {string.Join(", ", Inputs.Where(i => i.Required).Select(i => $"'{i.Name}'"))}; got a JSON {request.ValueKind}.");
        }

        var row = new ServingInput();
        foreach (var column in Inputs)
        {
            // A JSON null is an absent field: an optional one is left out, a required one is reported missing (a null for
            // an optional field was refused while leaving it out was fine; found by QA).
            if (!JsonFields.TryGet(request, column.Name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                if (column.Required)
                {
                    throw new ServingRequestException($"Missing field '{column.Name}': {Expected(column)}.");
                }

                continue;
            }

            object parsed = column.Kind switch
            {
                _ when column.MaxLength is { } steps => Length(column, value, steps),
                ServingKind.Vector => Vector(column, value),
                ServingKind.Scalar => Number(column.Name, value),
                ServingKind.Integer => Integer(column, value),
                _ => value.ValueKind == JsonValueKind.String ? value.GetString()! : throw new ServingRequestException($"Field '{column.Name}' must be a string; got a JSON {value.ValueKind}."),
            };
            typeof(ServingInput).GetProperty(column.Member)!.SetValue(row, parsed);
        }

        return row;
    }

    private static float[] Vector(ServingColumn column, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Array)
        {
            throw new ServingRequestException($"Field '{column.Name}' must be {Expected(column)}; got a JSON {value.ValueKind}.");
        }

        var length = value.GetArrayLength();
        if (length != column.Size)
        {
            throw new ServingRequestException($"Field '{column.Name}' has {length} values; the model expects {column.Size}.");
        }

        var values = new float[length];
        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            values[i] = Number($"{column.Name}[{i}]", item);
            i++;
        }

        return values;
    }

    private static float Number(string name, JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetSingle(out var f) && InputNumbers.Accepts(f)
            ? f
            : throw new ServingRequestException($"'{name}' {InputNumbers.Rule}; got {(value.ValueKind == JsonValueKind.Number ? ClientText.Quote(value.GetRawText()) : "a JSON " + value.ValueKind)}.");

    private static object Integer(ServingColumn column, JsonElement value)
    {
        // JSON has one number type: any whole value (3, 3.0, 3e0) in the column type's range is accepted. Decimal holds
        // every such literal exactly, where a double would round Int64 values above 2^53.
        var whole = value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d) && d == decimal.Truncate(d) ? d : (decimal?)null;
        var raw = column.Type.RawType;
        (decimal min, decimal max) = raw == typeof(int) ? (int.MinValue, int.MaxValue) : raw == typeof(uint) ? (uint.MinValue, uint.MaxValue) : (long.MinValue, long.MaxValue);
        if (whole is not { } n || n < min || n > max)
        {
            throw new ServingRequestException(string.Create(
                CultureInfo.InvariantCulture,
                $"Field '{column.Name}' must be a whole number from {min} to {max} ({column.Type}); got {(value.ValueKind == JsonValueKind.Number ? ClientText.Quote(value.GetRawText()) : "a JSON " + value.ValueKind)}."));
        }

        return raw == typeof(int) ? (int)n : raw == typeof(uint) ? (uint)n : (object)(long)n;
    }

    private static object Length(ServingColumn column, JsonElement value, int steps)
    {
        // predict's rule for a CSV row's length, whatever the column's number type: a whole number from 1 to T. The
        // carried graph clamps a length into [0, T], so a 0 or T + 1 would otherwise be answered as if it were valid.
        var n = value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && d == Math.Floor(d) && d >= 1 && d <= steps ? (int)d : 0;
        if (n == 0)
        {
            throw new ServingRequestException($"Field '{column.Name}' must be {Expected(column)}; got {(value.ValueKind == JsonValueKind.Number ? ClientText.Quote(value.GetRawText()) : "a JSON " + value.ValueKind)}.");
        }

        var raw = column.Type.RawType;
        return raw == typeof(float) ? (float)n : raw == typeof(int) ? n : raw == typeof(uint) ? (uint)n : (object)(long)n;
    }

    private static string Expected(ServingColumn c) => c.MaxLength is { } steps ? $"the sequence length, a whole number from 1 to {steps}" : c.Kind switch
    {
        ServingKind.Vector => $"an array of {c.Size} numbers",
        ServingKind.Scalar => "a number",
        ServingKind.Integer => $"a whole number ({c.Type})",
        _ => "a string",
    };

    // OwnsTransformer = false: every engine shares the model's ONNX Runtime session; disposing an engine that owned the
    // model would dispose that session under the others (HTTP 500s, then a segmentation fault).
    private PredictionEngine<ServingInput, ServingOutput> CreateEngine() =>
        _ml.Model.CreatePredictionEngine<ServingInput, ServingOutput>(_model, new PredictionEngineOptions
        {
            IgnoreMissingColumns = false,
            InputSchemaDefinition = _inputDefinition,
            OutputSchemaDefinition = _outputDefinition,
            OwnsTransformer = false,
        });

    private IReadOnlyList<ServingColumn> BindInputs(DataViewSchema inputSchema)
    {
        var columns = new List<ServingColumn>();
        var used = new Dictionary<char, int>();
        foreach (var column in inputSchema.Where(c => !c.IsHidden))
        {
            var kind = ServingColumn.KindOf(column.Type);
            if (kind is null or ServingKind.Key)
            {
                throw new NotSupportedException($"Input column '{column.Name}' is {column.Type}; the service carries Vector<Single, N>, Single, Int32, UInt32, Int64 and Text inputs.");
            }

            var member = Slot(kind.Value, column.Type, used, column.Name);
            var required = kind != ServingKind.Text && ModelInputs.Needs(_model, inputSchema, column.Name);
            columns.Add(new ServingColumn(column.Name, kind.Value, (column.Type as VectorDataViewType)?.Size ?? 0, required, member, column.Type));
        }

        return columns;
    }

    /// <summary>
    /// Gives the length columns the model's ONNX scorer reads (a classifier trained with a length column) their bound T,
    /// found as <c>predict</c> finds it: the one vector input's width over <paramref name="channels"/>.
    /// </summary>
    private IReadOnlyList<ServingColumn> WithLengthLimits(IReadOnlyList<ServingColumn> inputs, DataViewSchema inputSchema, int channels)
    {
        var vectors = inputs.Where(c => c.Kind == ServingKind.Vector).ToArray();
        var lengths = vectors.Length == 1 ? ModelInputs.OnnxLengthInputs(_model, inputSchema, vectors[0].Name) : [];
        if (lengths.Count == 0)
        {
            return inputs;
        }

        var steps = ModelInputs.Steps(vectors[0].Name, vectors[0].Size, channels);
        return inputs.Select(c => lengths.Contains(c.Name) ? c with { MaxLength = steps } : c).ToArray();
    }

    private static IReadOnlyList<ServingColumn> BindOutputs(DataViewSchema inputSchema, DataViewSchema outputSchema)
    {
        var columns = new List<ServingColumn>();
        var used = new Dictionary<char, int>();
        foreach (var column in outputSchema.Where(c => !c.IsHidden && inputSchema.GetColumnOrNull(c.Name) is null))
        {
            // Columns the service cannot carry (none in LMU models) are left out of the answer rather than failing.
            if (ServingColumn.KindOf(column.Type) is { } kind)
            {
                columns.Add(new ServingColumn(column.Name, kind, (column.Type as VectorDataViewType)?.Size ?? 0, false, Slot(kind, column.Type, used, column.Name), column.Type));
            }
        }

        return columns;
    }

    private static string Slot(ServingKind kind, DataViewType type, Dictionary<char, int> used, string column)
    {
        var prefix = kind switch
        {
            ServingKind.Vector => 'V',
            ServingKind.Scalar => 'S',
            ServingKind.Integer => type.RawType == typeof(int) ? 'I' : type.RawType == typeof(uint) ? 'U' : 'L',
            ServingKind.Key => 'K',
            _ => 'T',
        };
        var index = used.GetValueOrDefault(prefix);
        if (index >= ServingSlots.Slots)
        {
            throw new NotSupportedException($"Column '{column}': the service carries at most {ServingSlots.Slots} columns of kind {kind}.");
        }

        used[prefix] = index + 1;
        return prefix + index.ToString(CultureInfo.InvariantCulture);
    }

    private static SchemaDefinition Definition(Type rowType, IReadOnlyList<ServingColumn> columns)
    {
        var definition = SchemaDefinition.Create(rowType);
        var byMember = columns.ToDictionary(c => c.Member);
        definition.RemoveAll(c => !byMember.ContainsKey(c.MemberName));
        foreach (var c in definition)
        {
            var column = byMember[c.MemberName];
            c.ColumnName = column.Name;
            c.ColumnType = column.Type;
        }

        return definition;
    }

    // Read before the load: a file replaced between the two is the same race as replacing it after the load, which the
    // hash then tells apart from what is on disk now.
    private static string FileSha256(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            return Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The load that follows names the problem in its own words.
            return string.Empty;
        }
    }

    /// <summary>What a zip saved without its input schema is told by <paramref name="command"/>, which needs it (files QA: a bare NullReferenceException).</summary>
    internal static string NoInputSchema(string path, string command) =>
        $"The model in '{path}' was saved without its input schema (mlContext.Model.Save(model, null, path)), and {command} reads the model's inputs from it. " +
        "Save it again with the schema of the rows it scores: mlContext.Model.Save(model, data.Schema, path), or LmuModelFile.Save (a forecaster: its window layout's schema). " +
        "A forecaster's stream still starts from it (forecast-stream --model, or serve --series-model with --model naming a zip saved with its schema).";

    /// <summary>What a zip whose model cannot run on the input schema it was saved with is told (serve and predict).</summary>
    internal static string UnrunnableSchema(string path, string cause) =>
        $"The model in '{path}' cannot be run on the input schema it was saved with ({cause}). A forecaster saved with its series rows' schema " +
        "(mlContext.Model.Save(model, data.Schema, path)) is this case: save it with the window layout's schema (LmuModelFile.Save, or " +
        "Model.Save(model, LmuForecastWindows.FromSeries(...).Schema, path)). Its stream still starts from it: forecast-stream --model, or serve " +
        "--series-model with --model naming a window-layout zip.";
}
