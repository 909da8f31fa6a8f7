using Orleans.Storage;

namespace Lmu.MLNet.Orleans;

/// <summary>
/// The series grains' view of the silo's storage provider (<see cref="ForecastFleetOptions.StorageName"/>): every call
/// goes to it unchanged, and a failure Orleans could not carry to the caller is replaced by one it can. Why: a database
/// client's exceptions (Npgsql's, SqlClient's) have no Orleans codec, so callers got "CodecNotFoundException: Could not
/// find a codec for type Npgsql.PostgresException", naming neither the series nor the cause, for failed writes and, 96 %
/// of them in a 12 s database outage, for the state read when a series is activated (Orleans QA, regression QA).
/// </summary>
internal sealed class CodecSafeGrainStorage(IGrainStorage inner) : IGrainStorage
{
    /// <summary>The name this view is registered under (the grains' [PersistentState] names it).</summary>
    public const string Name = ForecastFleetOptions.StorageName + ".CodecSafe";

    /// <summary>What a silo without the grains' storage is told.</summary>
    public const string NoStorage =
        "no grain storage named '" + ForecastFleetOptions.StorageName + "' (ForecastFleetOptions.StorageName) is registered on this silo: add one as its " +
        "clustering is, e.g. AddMemoryGrainStorage(ForecastFleetOptions.StorageName) on one machine or AddAdoNetGrainStorage(ForecastFleetOptions.StorageName, ...) for a cluster.";

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        try
        {
            await inner.ReadStateAsync(stateName, grainId, grainState);
        }
        catch (Exception e)
        {
            throw CodecSafe(e, grainId, "read its state");
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        try
        {
            await inner.WriteStateAsync(stateName, grainId, grainState);
        }
        catch (Exception e)
        {
            throw CodecSafe(e, grainId, "write its state");
        }
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        try
        {
            await inner.ClearStateAsync(stateName, grainId, grainState);
        }
        catch (Exception e)
        {
            throw CodecSafe(e, grainId, "clear its state");
        }
    }

    /// <summary>
    /// <paramref name="e"/> itself when it is made only of .NET's and Orleans' own types (an ETag conflict's
    /// InconsistentStateException, an IOException, a TimeoutException, Orleans' wrapping of them), so callers that catch
    /// those types still do; else an InvalidOperationException naming the series and the innermost cause, with no inner
    /// exception (it would not serialize either).
    /// </summary>
    internal static Exception CodecSafe(Exception e, GrainId grainId, string what)
    {
        if (Chain(e).All(x => x.GetType().Assembly == typeof(Exception).Assembly || x.GetType().Assembly.GetName().Name?.StartsWith("Orleans", StringComparison.Ordinal) == true))
        {
            return e;
        }

        var cause = e;
        while (cause.InnerException is { } inner)
        {
            cause = inner;
        }

        return new InvalidOperationException(
            $"Series '{grainId.Key}': the grain storage failed to {what} ({cause.GetType().FullName}: {cause.Message}). Nothing was applied past what " +
            "storage holds. A cause that passes (the store unreachable) is retried by resending the call, readings with the same numbers (those stored are " +
            "skipped); one that does not (a series id too long for the store's id column) fails again.");
    }

    // The exception and every one inside it (an AggregateException's all).
    private static IEnumerable<Exception> Chain(Exception e)
    {
        yield return e;
        var inner = e is AggregateException aggregate ? aggregate.InnerExceptions : (IEnumerable<Exception>)(e.InnerException is { } one ? [one] : []);
        foreach (var x in inner.SelectMany(Chain))
        {
            yield return x;
        }
    }
}
