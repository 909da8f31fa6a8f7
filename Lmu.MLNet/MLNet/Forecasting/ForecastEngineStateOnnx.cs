using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Lmu.MLNet.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Carries a streaming engine's checkpoint inside an ML.NET model zip. ML.NET's save API is internal (only its own
/// transformers can be written), so the state travels as the one thing of ours ML.NET saves: an ONNX model. A tiny
/// graph (input: the window column, ignored; output <see cref="StateColumn"/>: Int64 [n] = Identity of an initializer
/// holding the state bytes) is scored by a second OnnxTransformer in the chain, and its output is dropped at once
/// (DropColumns), so scoring the zip never computes it. Reading it back applies the loaded chain's transformers to
/// one row and reads the column before it is dropped: public ML.NET API only, and the bytes come back exactly.
/// </summary>
/// <remarks>
/// The state blob: "LMU-TS-ENGINE", format (int32), SHA-256 of the rest, then the series column name (BinaryWriter
/// string, empty for none) and the engine's checkpoint payload (fingerprint, model, state: see
/// <see cref="LmuForecastEngine.ReadPayload"/>). In the ONNX tensor: element 0 is the blob's length in bytes, then the
/// bytes packed little-endian eight to an Int64.
/// </remarks>
internal static class ForecastEngineStateOnnx
{
    /// <summary>The ONNX output (and transient ML.NET column) that carries the state.</summary>
    public const string StateColumn = "lmu.ForecastEngineState";

    public const int FormatVersion = 1;

    /// <summary>The format of a state whose model format-1 readers cannot read (see <see cref="EngineCheckpointFile.NewestFormat"/>).</summary>
    public const int NewestFormat = 2;

    /// <summary>The format a state of <paramref name="model"/> is written in: the oldest whose readers can read it.</summary>
    internal static int FormatFor(LmuForecastModel model) => model.RelativeScaleFloor ? NewestFormat : FormatVersion;

    private static ReadOnlySpan<byte> Magic => "LMU-TS-ENGINE"u8;

    /// <summary>The Model.Load-able zip: the forecaster's ONNX scorer, then the state carrier and a DropColumns of its output.</summary>
    public static void Save(MLContext ml, LmuForecastEngine engine, string? seriesColumn, string path)
    {
        using var chain = CreateChain(ml, engine, seriesColumn);
        // Atomic, flushed, and errors name the target (a read-only folder was reported with the temp file's name;
        // found by QA). The ".tmp-" names are the ones the checkpoint files' sweep knows.
        AtomicFile.Write(path, stream => ml.Model.Save(chain, ScoringLayout(engine.Model).Schema, stream), ".tmp-");
    }

    /// <summary>
    /// The forecaster's chain: its ONNX scorer, then the carrier of <paramref name="engine"/>'s state and a DropColumns
    /// of it. A fitted forecaster's chain carries a start-of-stream engine this way, so every zip saved from it can start
    /// a stream (a zip saved from a forecaster fitted before 0.4.0 could not: upgrade QA).
    /// </summary>
    /// <param name="ml">Context whose TempFilePath receives the graphs' temporary copies.</param>
    /// <param name="engine">The engine whose model scores and whose state is carried.</param>
    /// <param name="seriesColumn">The series column the typed engine reads (null for a model fitted on the window layout).</param>
    public static TransformerChain<ITransformer> CreateChain(MLContext ml, LmuForecastEngine engine, string? seriesColumn)
    {
        var model = engine.Model;
        var stateGraph = Graph(model.WindowColumn, model.WindowSize, Encode(seriesColumn ?? string.Empty, engine.ToPayload(), FormatFor(model)));
        var stateFile = Path.Combine(OnnxCarrier.TempFolder(ml), $"lmu-state-{Guid.NewGuid():N}.onnx");
        try
        {
            // Named as the temp folder's on a full disk, as the scorer's graph is (limits QA: a bare "No space left on device").
            OnnxCarrier.WriteGraph(stateFile, stateGraph);
            var inputs = new List<string> { model.WindowColumn };
            inputs.AddRange(model.CovariateColumns);
            var outputs = new List<string> { model.ForecastColumn };
            if (model.HasBounds)
            {
                outputs.Add(model.LowerBoundColumn!);
                outputs.Add(model.UpperBoundColumn!);
            }

            var carrier = ml.Transforms.ApplyOnnxModel([StateColumn], [model.WindowColumn], stateFile)
                .Append(ml.Transforms.DropColumns(StateColumn));
            return OnnxCarrier.Create(ml, model.ToOnnx(), ScoringLayout(model), inputs, outputs, carrier, [stateGraph]);
        }
        finally
        {
            File.Delete(stateFile);
        }
    }

    // Fitting the ONNX scorers reads only the schema, so a row-less view of the window layout is enough.
    private static FloatColumnsDataView ScoringLayout(LmuForecastModel model) =>
        new(new[] { model.WindowColumn }.Concat(model.CovariateColumns).Select(n => (n, model.WindowSize, Array.Empty<float[]>())).ToList());

    /// <summary>
    /// The engine and series column carried by <paramref name="loaded"/>, or null when it carries none (a zip saved from a
    /// forecaster fitted before 0.4.0, or any other model). With <paramref name="path"/> (the zip it was loaded from), a
    /// chain that cannot be run on the input schema it was saved with (a forecaster saved with its series rows' schema) is
    /// read from the file instead; without it, that is refused naming the fix.
    /// </summary>
    /// <exception cref="InvalidDataException">The state is there but damaged or inconsistent, or cannot be reached through the loaded chain (named by <paramref name="source"/>).</exception>
    public static (LmuForecastEngine Engine, string? SeriesColumn)? Read(ITransformer loaded, DataViewSchema? inputSchema, string source, string? path = null)
    {
        if (inputSchema is null)
        {
            // A zip saved with Model.Save(model, null, path) has no input schema to bind the chain on (files QA: a bare
            // NullReferenceException): the state is read from the file itself, or the caller is told what to pass.
            return path is not null
                ? ForecastEngineStateZip.Packed(path) is { } fromFile ? Decode(fromFile, source) : null
                : throw new InvalidDataException(
                    $"{source} came without an input schema (the zip was saved with mlContext.Model.Save(model, null, path)), so its forecast engine state cannot be read through it: " +
                    "start the stream from the file with LmuForecastTimeSeriesEngine.Load(mlContext, path), which reads the state from the file itself.");
        }

        var elements = TransformerElements.Of(loaded).ToList();
        IDataView view = OneRow(inputSchema);
        foreach (var element in elements)
        {
            DataViewSchema schema;
            try
            {
                schema = element.GetOutputSchema(view.Schema);
            }
            // A disposed model is not one without a state: it was reported as "carries no forecast engine state" (an
            // ObjectDisposedException is an InvalidOperationException; found by QA), so it reaches the caller as it is.
            catch (Exception e) when (e is ArgumentException or InvalidOperationException && e is not ObjectDisposedException)
            {
                if (path is not null)
                {
                    return ForecastEngineStateZip.Packed(path) is { } packed ? Decode(packed, source) : null;
                }

                throw new InvalidDataException(
                    $"{source} cannot be run on the input schema it was saved with, so its forecast engine state cannot be read through it ({e.Message}). " +
                    "A forecaster saved with its series rows' schema is this case: start the stream from the file with LmuForecastTimeSeriesEngine.Load(mlContext, path), " +
                    "which reads the state from the file itself, or save the model with the window layout's schema (LmuForecastWindows.FromSeries(...).Schema, or LmuModelFile.Save).",
                    e);
            }

            if (schema.GetColumnOrNull(StateColumn) is { } column && column.Type is VectorDataViewType { ItemType: var item } && item == NumberDataViewType.Int64)
            {
                var scored = element.Transform(view);
                var values = default(VBuffer<long>);
                using (var cursor = scored.GetRowCursor([scored.Schema[StateColumn]]))
                {
                    var get = cursor.GetGetter<VBuffer<long>>(scored.Schema[StateColumn]);
                    if (!cursor.MoveNext())
                    {
                        return null;
                    }

                    get(ref values);
                }

                return Decode(values.DenseValues().ToArray(), source);
            }

            view = element.Transform(view);
        }

        return null;
    }


    internal static byte[] Encode(string seriesColumn, byte[] payload, int format)
    {
        using var rest = new MemoryStream();
        using (var w = new BinaryWriter(rest, Encoding.UTF8, leaveOpen: true))
        {
            w.Write(seriesColumn);
            w.Write(payload.Length);
            w.Write(payload);
        }

        var body = rest.ToArray();
        var blob = new byte[Magic.Length + sizeof(int) + 32 + body.Length];
        Magic.CopyTo(blob);
        BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(Magic.Length), format);
        SHA256.HashData(body, blob.AsSpan(Magic.Length + sizeof(int), 32));
        body.CopyTo(blob, Magic.Length + sizeof(int) + 32);
        return blob;
    }

    internal static (LmuForecastEngine Engine, string? SeriesColumn) Decode(long[] packed, string source)
    {
        string Fail(string why) => throw new InvalidDataException($"The forecast engine state in {source} is unreadable: {why}");
        if (packed.Length < 1 || packed[0] < 0 || packed[0] > (packed.Length - 1) * 8L)
        {
            Fail($"it announces {(packed.Length > 0 ? packed[0] : 0)} bytes in {packed.Length} elements.");
        }

        var blob = new byte[packed[0]];
        var all = new byte[(packed.Length - 1) * 8];
        for (var i = 1; i < packed.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(all.AsSpan((i - 1) * 8), packed[i]);
        }

        all.AsSpan(0, blob.Length).CopyTo(blob);
        var head = Magic.Length + sizeof(int) + 32;
        if (blob.Length < head || !blob.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            Fail("it is not an LMU forecast engine state.");
        }

        var version = BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(Magic.Length));
        if (version is < FormatVersion or > NewestFormat)
        {
            Fail($"it has format {version}; this version reads formats {FormatVersion} to {NewestFormat}" +
                 (version > NewestFormat ? ". A newer version of Lmu.MLNet wrote it: upgrade Lmu.MLNet where it is read." : "."));
        }

        var body = blob.AsSpan(head);
        if (!SHA256.HashData(body).AsSpan().SequenceEqual(blob.AsSpan(Magic.Length + sizeof(int), 32)))
        {
            Fail("the SHA-256 of its contents does not match the one it records.");
        }

        try
        {
            using var r = new BinaryReader(new MemoryStream(body.ToArray(), writable: false));
            var series = r.ReadString();
            var length = BinaryArrays.Count(r, 1);
            var payload = r.ReadBytes(length);
            if (payload.Length != length || r.BaseStream.Position != r.BaseStream.Length)
            {
                Fail("its payload length is inconsistent.");
            }

            using var stream = new MemoryStream(payload, writable: false);
            return (LmuForecastEngine.ReadPayload(stream), series.Length == 0 ? null : series);
        }
        catch (Exception e) when (e is IOException or FormatException or InvalidDataException && !e.Message.StartsWith("The forecast engine state", StringComparison.Ordinal))
        {
            throw new InvalidDataException($"The forecast engine state in {source} is inconsistent: {e.Message}{LmuForecastEngine.NotDamaged}", e);
        }
    }

    private static byte[] Graph(string inputColumn, int windowSize, byte[] blob)
    {
        var packed = new long[1 + (blob.Length + 7) / 8];
        packed[0] = blob.Length;
        var padded = new byte[(packed.Length - 1) * 8];
        blob.CopyTo(padded, 0);
        for (var i = 1; i < packed.Length; i++)
        {
            packed[i] = BinaryPrimitives.ReadInt64LittleEndian(padded.AsSpan((i - 1) * 8));
        }

        var g = new OnnxGraphBuilder(ForecastEngineStateZip.GraphName);
        // An input ML.NET's OnnxTransformer can bind (the window column every scoring row has); the graph ignores it.
        g.Input(inputColumn, OnnxElementType.Float, (long)windowSize);
        var state = g.Initializer(OnnxTensor.Int64(ForecastEngineStateZip.InitializerName, packed, packed.Length));
        g.Add("Identity", [state], [StateColumn], []);
        g.Output(StateColumn, OnnxElementType.Int64, (long)packed.Length);
        return OnnxModelWriter.Write(g.Graph);
    }

    // One row of zeros with the numeric columns of the model's input schema (enough to bind and run any of its scorers).
    private static IDataView OneRow(DataViewSchema inputSchema)
    {
        var columns = new List<(string, DataViewType, Array)>();
        foreach (var c in inputSchema)
        {
            if (c.IsHidden)
            {
                continue;
            }

            if (c.Type is VectorDataViewType { ItemType: var item, IsKnownSize: true } v && item == NumberDataViewType.Single)
            {
                columns.Add((c.Name, c.Type, new[] { new float[v.Size] }));
            }
            else if (c.Type == NumberDataViewType.Single)
            {
                columns.Add((c.Name, c.Type, new[] { 0f }));
            }
            else if (c.Type == NumberDataViewType.Int32)
            {
                columns.Add((c.Name, c.Type, new[] { 0 }));
            }
            else if (c.Type is TextDataViewType)
            {
                columns.Add((c.Name, c.Type, new[] { string.Empty }));
            }
        }

        return new ForecastRowsDataView(columns);
    }
}
