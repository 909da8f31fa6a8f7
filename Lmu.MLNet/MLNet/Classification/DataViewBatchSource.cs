using Lmu.MLNet.Training;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Classification;

/// <summary>
/// Streams mini-batches from IDataView cursors: each epoch opens a fresh cursor (through ML.NET's ShuffleRows with a
/// per-epoch seed when shuffling), so at most one batch and the shuffle pool are in memory, whatever the data's size.
/// Rows with a missing label are skipped, as ML.NET's trainers do.
/// </summary>
internal sealed class DataViewBatchSource : ILmuBatchSource
{
    private readonly MLContext _ml;
    private readonly IDataView _data;
    private readonly ClassifierInputLayout _layout;
    private readonly ClassMap _classes;
    private readonly int _steps;
    private readonly int _batchSize;
    private readonly int? _shuffleSeed;
    private readonly int _poolSize;
    private readonly string _role;
    private readonly Action _throwIfCanceled;

    public DataViewBatchSource(
        MLContext ml, IDataView data, ClassifierInputLayout layout, ClassMap classes, int steps, int batchSize, int? shuffleSeed, int poolSize,
        string role, Action throwIfCanceled)
    {
        _ml = ml;
        _data = data;
        _layout = layout;
        _classes = classes;
        _steps = steps;
        _batchSize = batchSize;
        _shuffleSeed = shuffleSeed;
        _poolSize = poolSize;
        _role = role;
        _throwIfCanceled = throwIfCanceled;
    }

    /// <inheritdoc />
    public IEnumerable<LmuBatch> Batches(int epoch)
    {
        var view = _shuffleSeed is int seed
            ? _ml.Data.ShuffleRows(_data, seed: unchecked(seed + (epoch * 7919)), shufflePoolSize: _poolSize, shuffleSource: true)
            : _data;
        var width = _steps * _layout.Channels;
        var x = new float[_batchSize * width];
        var y = new long[_batchSize];
        var lengths = _layout.Length is null ? null : new long[_batchSize];
        using var cursor = view.GetRowCursor(_layout.Columns.Select(c => view.Schema[c.Name]));
        var reader = new SequenceRowReader(cursor, _layout, _steps, _classes, _role);
        var n = 0;
        while (cursor.MoveNext())
        {
            var k = reader.ClassIndex();
            if (k < 0)
            {
                continue;
            }

            var rowSteps = reader.ReadFeatures(x.AsSpan(n * width, width));
            if (lengths is not null)
            {
                lengths[n] = reader.ReadLength(rowSteps);
            }

            y[n++] = k;
            if (n == _batchSize)
            {
                _throwIfCanceled();
                yield return Make(x, y, lengths, n);
                n = 0;
            }
        }

        if (n > 0)
        {
            _throwIfCanceled();
            yield return Make(x, y, lengths, n);
        }
    }

    private LmuBatch Make(float[] x, long[] y, long[]? lengths, int n)
    {
        // torch.tensor copies the managed arrays, so the buffers are reused for the next batch.
        var features = torch.tensor(x.AsSpan(0, n * _steps * _layout.Channels).ToArray(), [n, _steps, _layout.Channels]);
        var target = torch.tensor(y.AsSpan(0, n).ToArray(), [n]);
        var valid = lengths is null ? null : torch.tensor(lengths.AsSpan(0, n).ToArray(), [n]);
        return new LmuBatch(features, target, valid);
    }
}
