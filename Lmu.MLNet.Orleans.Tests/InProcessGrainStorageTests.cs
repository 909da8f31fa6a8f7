using Lmu.MLNet.Samples.Fleet;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;

namespace Lmu.MLNet.Orleans.Tests;

/// <summary>
/// The embedded storage of <c>serve --series</c> and <c>fleet</c>: ETags checked as a database provider checks them, and a
/// cleared state removed outright (Orleans' memory provider keeps the key, so forgotten series still took room).
/// </summary>
[TestClass]
public sealed class InProcessGrainStorageTests
{
    [TestMethod]
    public async Task WritesNeedTheETagReadAndAClearedStateIsGone()
    {
        await using var services = new ServiceCollection().AddSerializer().BuildServiceProvider();
        var storage = new InProcessGrainStorage(services.GetRequiredService<Serializer>());
        var id = GrainId.Create("series", "pump-1");
        var first = new GrainState<SeriesForecastState>(new SeriesForecastState { LastSequence = 3, EngineState = [1, 2, 3] });
        await storage.WriteStateAsync("series", id, first);
        Assert.IsNotNull(first.ETag);
        Assert.AreEqual(1, storage.Count);

        // A second activation reads it, writes, and the first one's ETag is stale from then on.
        var second = new GrainState<SeriesForecastState>(new SeriesForecastState());
        await storage.ReadStateAsync("series", id, second);
        Assert.IsTrue(second.RecordExists);
        Assert.AreEqual(3L, second.State!.LastSequence);
        CollectionAssert.AreEqual(new byte[] { 1, 2, 3 }, second.State!.EngineState);
        second.State!.LastSequence = 4;
        await storage.WriteStateAsync("series", id, second);
        first.State!.LastSequence = 99;
        await Assert.ThrowsExactlyAsync<InconsistentStateException>(() => storage.WriteStateAsync("series", id, first));
        await Assert.ThrowsExactlyAsync<InconsistentStateException>(() => storage.ClearStateAsync("series", id, first));
        await Assert.ThrowsExactlyAsync<InconsistentStateException>(
            () => storage.ClearStateAsync("series", id, new GrainState<SeriesForecastState>(new SeriesForecastState())), "a clear that read nothing over a stored record");
        await Assert.ThrowsExactlyAsync<InconsistentStateException>(
            () => storage.WriteStateAsync("series", id, new GrainState<SeriesForecastState>(new SeriesForecastState())), "a new record over a stored one");

        await storage.ClearStateAsync("series", id, second);
        Assert.AreEqual(0, storage.Count, "removed, key and all");
        Assert.IsFalse(second.RecordExists);
        var after = new GrainState<SeriesForecastState>(new SeriesForecastState());
        await storage.ReadStateAsync("series", id, after);
        Assert.IsFalse(after.RecordExists);
        Assert.AreEqual(0L, after.State!.LastSequence);

        // Clearing what is not stored is a no-op, as a delete of a missing row is.
        await storage.ClearStateAsync("series", GrainId.Create("series", "never"), new GrainState<SeriesForecastState>(new SeriesForecastState()));
        Assert.AreEqual(0, storage.Count);
    }
}
