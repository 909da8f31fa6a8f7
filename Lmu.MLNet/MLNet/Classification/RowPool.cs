namespace Lmu.MLNet.Classification;

/// <summary>
/// The shuffle pool of <see cref="DataViewBatchSource"/>: up to capacity + 1 rows (features, class, valid length). A
/// row is read into <see cref="Incoming"/> and added; once the pool holds more than its capacity, a random row is taken
/// out (the last row moves into its place, so the pool stays dense).
/// </summary>
internal sealed class RowPool(int capacity, int width)
{
    // Sized once for the source's life (one pool serves every epoch); the caller bounds capacity by the rows there are
    // and checks (capacity + 1) x width against one array's limit (LmuClassifierEstimator).
    private readonly float[] _features = new float[checked((capacity + 1) * width)];
    private readonly long[] _classes = new long[capacity + 1];
    private readonly long[] _lengths = new long[capacity + 1];

    /// <summary>Rows held.</summary>
    public int Count { get; private set; }

    /// <summary>Whether the pool holds more rows than its capacity (then a row is to be taken).</summary>
    public bool IsOverFull => Count > capacity;

    /// <summary>Where the next row's features are read to, before <see cref="Add"/>.</summary>
    public Span<float> Incoming => _features.AsSpan(Count * width, width);

    /// <summary>Empties the pool (an epoch left early leaves rows in it).</summary>
    public void Clear() => Count = 0;

    /// <summary>Keeps the row read into <see cref="Incoming"/>.</summary>
    public void Add(long classIndex, long length)
    {
        _classes[Count] = classIndex;
        _lengths[Count] = length;
        Count++;
    }

    /// <summary>Copies row <paramref name="index"/> into slot <paramref name="slot"/> of a batch's buffers (the lengths' when it has them) and removes it.</summary>
    public void Take(int index, float[] features, long[] classes, long[]? lengths, int slot)
    {
        _features.AsSpan(index * width, width).CopyTo(features.AsSpan(slot * width, width));
        classes[slot] = _classes[index];
        if (lengths is not null)
        {
            lengths[slot] = _lengths[index];
        }

        var last = --Count;
        if (index != last)
        {
            _features.AsSpan(last * width, width).CopyTo(_features.AsSpan(index * width, width));
            _classes[index] = _classes[last];
            _lengths[index] = _lengths[last];
        }
    }
}
