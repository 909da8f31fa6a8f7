using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>A column of a <see cref="ProbeDataView"/>: its values computed from the row index when read.</summary>
internal sealed class ProbeColumn
{
    private ProbeColumn(string name, DataViewType type, Func<Func<long>, Delegate> getter)
    {
        Name = name;
        Type = type;
        Getter = getter;
    }

    public string Name { get; }

    public DataViewType Type { get; }

    /// <summary>Makes a ValueGetter reading the row at the position the given function returns.</summary>
    public Func<Func<long>, Delegate> Getter { get; }

    public static ProbeColumn Single(string name, Func<long, float> value) =>
        new(name, NumberDataViewType.Single, position => (ValueGetter<float>)((ref float v) => v = value(position())));

    public static ProbeColumn Text(string name, Func<long, string> value) =>
        new(name, TextDataViewType.Instance, position => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = value(position()).AsMemory()));

    /// <summary>A key column of <paramref name="count"/> keys stored as <typeparamref name="T"/>, with whatever raw values <paramref name="value"/> gives (a view of the user's own need not keep them in range).</summary>
    public static ProbeColumn Key<T>(string name, ulong count, Func<long, T> value) =>
        new(name, new KeyDataViewType(typeof(T), count), position => (ValueGetter<T>)((ref T v) => v = value(position())));

    public static ProbeColumn Vector(string name, int size, Action<long, Span<float>> fill) =>
        new(name, new VectorDataViewType(NumberDataViewType.Single, size), position => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> v) =>
        {
            var editor = VBufferEditor.Create(ref v, size);
            fill(position(), editor.Values);
            v = editor.Commit();
        }));
}
