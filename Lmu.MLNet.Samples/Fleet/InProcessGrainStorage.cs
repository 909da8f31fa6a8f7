using System.Collections.Concurrent;
using System.Globalization;
using Orleans.Serialization;
using Orleans.Storage;

namespace Lmu.MLNet.Samples.Fleet;

/// <summary>
/// Grain storage in this process's memory for the embedded single silo: each state kept serialized with an ETag checked
/// on every write, as a database provider does, and removed outright when a grain clears it. Orleans' memory provider
/// keeps a cleared state's key for good (it remembers that the record once existed), so a service that forgets idle
/// series would still grow with every id it ever saw; and it is meant for tests.
/// </summary>
internal sealed class InProcessGrainStorage(Serializer serializer) : IGrainStorage
{
    private readonly ConcurrentDictionary<string, Record> _records = new(StringComparer.Ordinal);
    private long _etag;

    /// <summary>The states held.</summary>
    public int Count => _records.Count;

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (_records.TryGetValue(Key(stateName, grainId), out var record))
        {
            grainState.State = serializer.Deserialize<T>(record.State);
            grainState.ETag = record.ETag;
            grainState.RecordExists = true;
        }

        return Task.CompletedTask;
    }

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = Key(stateName, grainId);
        var bytes = serializer.SerializeToArray(grainState.State);
        var etag = Interlocked.Increment(ref _etag).ToString(CultureInfo.InvariantCulture);
        var written = new Record(bytes, etag);
        // The ETag rule: a write must name the ETag it read (null for a new record), so a stale activation cannot
        // overwrite a newer state.
        var stored = grainState.ETag is { } read
            ? _records.TryGetValue(key, out var current) && current.ETag == read && _records.TryUpdate(key, written, current)
            : _records.TryAdd(key, written);
        if (!stored)
        {
            throw new InconsistentStateException($"ETag mismatch for {key}: the stored record is not the one read ({grainState.ETag ?? "none"}).");
        }

        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var key = Key(stateName, grainId);
        if (_records.TryGetValue(key, out var current) && (current.ETag != grainState.ETag || !_records.TryRemove(KeyValuePair.Create(key, current))))
        {
            // A clear must name the record it read, as a write must: one that read nothing cannot clear a stored record
            // (it succeeded and left the record; review).
            throw new InconsistentStateException($"ETag mismatch for {key}: the stored record is not the one read ({grainState.ETag ?? "none"}).");
        }

        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private static string Key(string stateName, GrainId grainId) => $"{stateName}/{grainId}";

    private sealed record Record(byte[] State, string ETag);
}
