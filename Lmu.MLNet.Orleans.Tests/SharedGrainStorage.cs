using System.Collections.Concurrent;
using Orleans.Serialization;
using Orleans.Storage;

namespace Lmu.MLNet.Orleans.Tests;

/// <summary>
/// Grain storage that outlives every silo of the test process, as a database outlives the machines of a real cluster
/// (Orleans' memory storage keeps state in grains, which die with their silo). States are kept serialized, with
/// ETags checked on every write like a real provider's, so a stale activation cannot overwrite a newer state.
/// </summary>
internal sealed class SharedGrainStorage(Serializer serializer) : IGrainStorage
{
    private static readonly ConcurrentDictionary<string, (byte[] State, string ETag)> Records = new();
    private static long _etag;

    public static int Writes;

    /// <summary>The grain id (its key string) whose next write fails, then the failure clears; null: none.</summary>
    public static volatile string? FailNextWriteOf;

    /// <summary>Whether that failure comes after the record was stored (an acknowledgement lost) rather than before.</summary>
    public static volatile bool FailAfterStoring;

    /// <summary>Whether that failure (before storing) is a database client's exception, which Orleans has no codec for.</summary>
    public static volatile bool FailAsDriver;

    /// <summary>Whether that failure (before storing) is an ETag conflict, as a write over a newer record gets.</summary>
    public static volatile bool FailAsConflict;

    /// <summary>The grain id (its key string) whose next read fails with a database client's exception, then the failure clears; null: none.</summary>
    public static volatile string? FailNextReadOf;

    /// <summary>
    /// Changes the stored state of series <paramref name="series"/> in place (as damage on the storage side would), keeping
    /// its ETag; the grain must not be active (it would not read it again).
    /// </summary>
    public static void Change(Serializer serializer, string series, Action<SeriesForecastState> change)
    {
        lock (Records)
        {
            var key = Records.Keys.Single(k => k.StartsWith(SeriesForecastGrain.StateName + "/", StringComparison.Ordinal) && k.EndsWith("/" + series, StringComparison.Ordinal));
            var (bytes, etag) = Records[key];
            var state = serializer.Deserialize<SeriesForecastState>(bytes)!;
            change(state);
            Records[key] = (serializer.SerializeToArray(state), etag);
        }
    }

    /// <summary>The records stored.</summary>
    public static int Count => Records.Count;

    public static void Clear()
    {
        Records.Clear();
        FailNextWriteOf = null;
        FailAsDriver = false;
        FailAsConflict = false;
        FailNextReadOf = null;
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (FailNextReadOf is { } target && grainId.Key.ToString() == target)
        {
            FailNextReadOf = null;
            throw new DriverException("57P01: terminating connection due to administrator command");
        }

        if (Records.TryGetValue(Key(stateName, grainId), out var record))
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
        var fail = FailNextWriteOf is { } target && grainId.Key.ToString() == target;
        if (fail && !FailAfterStoring)
        {
            FailNextWriteOf = null;
            if (FailAsDriver)
            {
                FailAsDriver = false;
                throw new DriverException("22001: value too long for type character varying(512)");
            }

            if (FailAsConflict)
            {
                FailAsConflict = false;
                throw new InconsistentStateException($"Injected ETag conflict for {key}.");
            }

            throw new IOException($"Injected storage failure before writing {key}.");
        }

        var etag = Interlocked.Increment(ref _etag).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var bytes = serializer.SerializeToArray(grainState.State);
        lock (Records)
        {
            var stored = Records.TryGetValue(key, out var record) ? record.ETag : null;
            if (stored != grainState.ETag)
            {
                throw new InconsistentStateException($"ETag mismatch for {key}: stored {stored}, written over {grainState.ETag}.");
            }

            Records[key] = (bytes, etag);
        }

        Interlocked.Increment(ref Writes);
        if (fail)
        {
            FailNextWriteOf = null;
            throw new IOException($"Injected storage failure after writing {key} (the acknowledgement is lost).");
        }

        grainState.ETag = etag;
        grainState.RecordExists = true;
        return Task.CompletedTask;
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        Records.TryRemove(Key(stateName, grainId), out _);
        grainState.ETag = null;
        grainState.RecordExists = false;
        return Task.CompletedTask;
    }

    private static string Key(string stateName, GrainId grainId) => $"{stateName}/{grainId}";
}

/// <summary>As a database client's exception (Npgsql's PostgresException): a type Orleans has no codec for.</summary>
internal sealed class DriverException(string message) : Exception(message);
