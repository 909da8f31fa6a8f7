using Lmu.MLNet.Training;
using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Classification;

/// <summary>
/// Streams mini-batches from IDataView cursors: each epoch opens one cursor of its own and shuffles through a pool of
/// rows (with a per-epoch seed when shuffling; the source also shuffles when it can, as ML.NET's ShuffleRows asks it
/// to), so at most one batch and the pool are in memory, whatever the data's size. Rows with a missing label are
/// skipped, as ML.NET's trainers do.
/// </summary>
/// <remarks>
/// Why not ML.NET's ShuffleRows: its cursor never disposes the cursor it opens over the data (its producer task reads
/// it, and nothing ends either), so a model upstream that releases its ONNX session when its last cursor closes, an
/// LMU featurizer, kept the session and its graph file in TempFilePath after Dispose, one per Fit, past the process's
/// exit (ML.NET QA). The pool keeps ShuffleRows' scheme (a full pool gives a random row for every row read, the rest
/// leave in random order), not its random sequence, so seeded models differ from those of versions before 0.4.0.
/// </remarks>
internal sealed class DataViewBatchSource : ILmuBatchSource
{
    private readonly IDataView _data;
    private readonly ClassifierInputLayout _layout;
    private readonly ClassMap _classes;
    private readonly int _steps;
    private readonly int _batchSize;
    private readonly int? _shuffleSeed;
    private readonly int _poolSize;
    private readonly string _role;
    private readonly Action _throwIfCanceled;
    private RowPool? _pool;

    public DataViewBatchSource(
        IDataView data, ClassifierInputLayout layout, ClassMap classes, int steps, int batchSize, int? shuffleSeed, int poolSize,
        string role, Action throwIfCanceled)
    {
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
        var width = _steps * _layout.Channels;
        var x = new float[_batchSize * width];
        var y = new long[_batchSize];
        var lengths = _layout.Length is null ? null : new long[_batchSize];
        var rand = _shuffleSeed is int seed ? new Random(unchecked(seed + (epoch * 7919))) : null;
        var pool = rand is null ? null : _pool ??= new RowPool(_poolSize, width);
        pool?.Clear();
        using var cursor = _data.GetRowCursor(_layout.Columns.Select(c => _data.Schema[c.Name]), rand is not null && _data.CanShuffle ? new Random(rand.Next()) : null);
        var reader = new SequenceRowReader(cursor, _layout, _steps, _classes, _role);
        var n = 0;
        while (cursor.MoveNext())
        {
            var k = reader.ClassIndex();
            if (k < 0)
            {
                continue;
            }

            if (pool is null)
            {
                reader.ReadFeatures(x.AsSpan(n * width, width));
                if (lengths is not null)
                {
                    lengths[n] = reader.ValidSteps;
                }

                y[n++] = k;
            }
            else
            {
                reader.ReadFeatures(pool.Incoming);
                pool.Add(k, lengths is null ? 0 : reader.ValidSteps);
                if (!pool.IsOverFull)
                {
                    continue;
                }

                pool.Take(rand!.Next(pool.Count), x, y, lengths, n++);
            }

            if (n == _batchSize)
            {
                _throwIfCanceled();
                yield return Make(x, y, lengths, n);
                n = 0;
            }
        }

        while (pool is { Count: > 0 })
        {
            pool.Take(rand!.Next(pool.Count), x, y, lengths, n);
            if (++n == _batchSize)
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
