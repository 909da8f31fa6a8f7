using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// Inference as an ML.NET pipeline runs it: the graph a saved model carries (one row per run, no batch axis, as
/// <c>OnnxCarrier</c> writes it) in ML.NET's own OnnxTransformer, <c>Transform</c> over an IDataView of the bench's
/// batch and every row's output read through a cursor. OnnxTransformer scores row by row, so this is the throughput a
/// user scoring a data view gets, where the peer and the other rows score the whole batch at once.
/// </summary>
internal sealed class MlNetDeployedSide : InferenceOnlySide
{
    private const string InputName = "Features", OutputName = "Output";
    private readonly int _threads;
    private readonly MLContext _ml = new(0);
    private string? _path;
    private ITransformer? _model;
    private IDataView? _data;

    /// <summary>ONNX Runtime's intra-op threads for the scorer.</summary>
    public MlNetDeployedSide(int threads) => _threads = threads;

    /// <inheritdoc />
    public override string Name => "ours (ML.NET OnnxTransformer)";

    /// <summary>Writes <paramref name="network"/>'s one-row graph and fits the scorer; the batch becomes a data view of rows.</summary>
    public void Load(LmuNetwork network, float[] input, int batch, int steps)
    {
        Release();
        var bytes = LmuOnnxExporter.Export(network.ToSpec(steps), new LmuOnnxExportOptions { InputName = InputName, BatchAxis = false, RawOutputName = OutputName });
        _path = Path.Combine(Path.GetTempPath(), $"lmu-bench-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(_path, bytes);
        var rows = Enumerable.Range(0, batch).Select(b => new Row { Features = input.AsSpan(b * steps, steps).ToArray() }).ToList();
        var definition = SchemaDefinition.Create(typeof(Row));
        definition[InputName].ColumnType = new VectorDataViewType(NumberDataViewType.Single, steps);
        _data = _ml.Data.LoadFromEnumerable(rows, definition);
        var options = new OnnxOptions
        {
            ModelFile = _path, InputColumns = [InputName], OutputColumns = [OutputName],
            IntraOpNumThreads = _threads, InterOpNumThreads = 1,
        };
        _model = _ml.Transforms.ApplyOnnxModel(options).Fit(_data);
    }

    /// <summary>Every row's output, [batch, OutputSize] row-major, through the pipeline.</summary>
    public float[] Outputs()
    {
        var scored = _model!.Transform(_data!);
        return scored.GetColumn<float[]>(OutputName).SelectMany(v => v).ToArray();
    }

    /// <inheritdoc />
    protected override double InferOnce()
    {
        var sw = Stopwatch.StartNew();
        var scored = _model!.Transform(_data!);
        using (var cursor = scored.GetRowCursor([scored.Schema[OutputName]]))
        {
            var getter = cursor.GetGetter<VBuffer<float>>(scored.Schema[OutputName]);
            VBuffer<float> value = default;
            while (cursor.MoveNext()) getter(ref value);
        }
        return sw.Elapsed.TotalSeconds;
    }

    private void Release()
    {
        (_model as IDisposable)?.Dispose();
        _model = null;
        _data = null;
        if (_path is not null) File.Delete(_path);
        _path = null;
    }

    /// <inheritdoc />
    public override void Dispose() => Release();

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
    }
}
