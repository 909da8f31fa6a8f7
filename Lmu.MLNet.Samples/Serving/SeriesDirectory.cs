using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The series <c>serve --series</c> holds in its in-memory store, so that the store stays bounded: a new series is
/// admitted only while fewer than <see cref="SeriesLimits.MaxSeries"/> are held (when set) and the process's memory is
/// under <see cref="RefusalLine"/> of what it may use, and a series with no reading applied for
/// <see cref="SeriesLimits.Idle"/> is forgotten (removed from the store). Without this the store kept every series ever
/// seen: QA's server grew about 43 KB a series to 4 GB, and under a 512 MB or 1 GB heap limit (a container) it wedged,
/// answering 500 from the store, and then died with "Out of memory" (exit 134).
/// </summary>
internal sealed class SeriesDirectory
{
    /// <summary>The share of the process's memory limit from which new series are refused (see <see cref="RefusalLine"/>).</summary>
    public const double MemoryShare = 0.8;

    /// <summary>
    /// The least room left under the limit when new series are refused (see <see cref="RefusalLine"/>). Why: memory went
    /// on rising by 14-25 MB past the line while 32-64 clients sent new series (requests admitted between readings, the
    /// GC's young generation), and 80 % of a 126 or 157 MB group left less than that: the kernel killed the service in 3
    /// of 6 runs (limits QA).
    /// </summary>
    public const long HeadroomBytes = 64L << 20;

    /// <summary>
    /// Memory in use above which new series are refused: <see cref="MemoryShare"/> of the limit, at most the limit less
    /// <see cref="HeadroomBytes"/>; no line when no limit is known (0).
    /// </summary>
    public static long RefusalLine(long limitBytes) =>
        limitBytes <= 0 ? long.MaxValue : Math.Max(0, Math.Min((long)(MemoryShare * limitBytes), limitBytes - HeadroomBytes));

    private readonly ConcurrentDictionary<string, Entry> _series = new(StringComparer.Ordinal);
    private readonly SeriesLimits _limits;
    private readonly TimeProvider _clock;
    private readonly Func<ProcessMemoryUse> _memory;
    private readonly Func<string, long?, Task<bool>> _forget;
    private readonly Func<string, Task<long>> _lastSequence;
    private readonly Action _collect;
    private readonly ILogger _log;
    private long _lastCollect;

    /// <param name="limits">The command line's limits.</param>
    /// <param name="clock">The clock of the idle rule.</param>
    /// <param name="memory">The process's memory now (<see cref="ProcessMemoryUse.Now"/> outside tests).</param>
    /// <param name="forget">Removes a series from the store (the grain's ForgetAsync): true when it was removed.</param>
    /// <param name="lastSequence">The series' last applied reading in the store, 0 when nothing is stored.</param>
    /// <param name="collect">A full garbage collection (before memory refuses a series; at most every <see cref="CollectEvery"/>).</param>
    /// <param name="log">Where sweeps report failures and what they removed.</param>
    public SeriesDirectory(
        SeriesLimits limits, TimeProvider clock, Func<ProcessMemoryUse> memory, Func<string, long?, Task<bool>> forget, Func<string, Task<long>> lastSequence, Action collect, ILogger log)
    {
        _limits = limits;
        _clock = clock;
        _memory = memory;
        _forget = forget;
        _lastSequence = lastSequence;
        _collect = collect;
        _log = log;
    }

    /// <summary>The least time between two collections forced by refusals.</summary>
    public static readonly TimeSpan CollectEvery = TimeSpan.FromSeconds(30);

    /// <summary>The series held (those with a reading applied and not forgotten).</summary>
    public int Count => _series.Count;

    /// <summary>
    /// Whether <paramref name="id"/> may hold readings: every series the store holds is listed (its entry is recorded
    /// when a reading is applied, and goes only once the store holds nothing for it). Reads and removals of ids not
    /// listed are answered without calling a grain: each call of an unknown id activated one, and 720,000 reads of ids
    /// never seen took a 256 MB heap to "Out of memory" (Orleans QA).
    /// </summary>
    public bool Holds(string id) => _series.ContainsKey(id);

    /// <summary>Null when a reading for <paramref name="id"/> may be sent to its grain; otherwise why not (a 503).</summary>
    public string? Refusal(string id)
    {
        if (_series.ContainsKey(id))
        {
            return null;
        }

        var count = _series.Count;
        if (_limits.MaxSeries > 0 && count >= _limits.MaxSeries)
        {
            return $"The service holds {count:N0} series, its limit (--series-max {_limits.MaxSeries}); a new series is admitted when one is forgotten: {Ways()}.";
        }

        var memory = _memory();
        var now = _clock.GetUtcNow().UtcTicks;
        if (memory.UsedBytes > RefusalLine(memory.LimitBytes) && now - Interlocked.Read(ref _lastCollect) >= CollectEvery.Ticks)
        {
            // Forgotten series are garbage until a full collection finds them, which may not come for minutes when
            // little is allocated (review: refused for about 6 minutes with none held): one before refusing, rate-limited
            // so that a flood of new series cannot make the process collect without end.
            Interlocked.Exchange(ref _lastCollect, now);
            _collect();
            memory = _memory();
        }

        if (memory.UsedBytes > RefusalLine(memory.LimitBytes))
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"The service holds {count:N0} series and the memory counted is at {memory.UsedBytes / 1e6:N0} MB, over its line of {RefusalLine(memory.LimitBytes) / 1e6:N0} MB " +
                $"({MemoryShare:P0} of its {memory.LimitBytes / 1e6:N0} MB limit, at most the limit less {HeadroomBytes >> 20} MiB; {memory.What}); a new series is admitted when memory is freed: {Ways()}, or run more servers.");
        }

        return null;
    }

    /// <summary>Lists <paramref name="id"/> (holding readings to <paramref name="lastSequence"/>) unless it is listed already.</summary>
    public void Known(string id, long lastSequence) => _series.TryAdd(id, new Entry(lastSequence, _clock.GetUtcNow()));

    /// <summary>Records that <paramref name="id"/>'s last applied reading is <paramref name="lastSequence"/>, now.</summary>
    public void Applied(string id, long lastSequence) =>
        _series[id] = new Entry(lastSequence, _clock.GetUtcNow());

    /// <summary>
    /// Records that <paramref name="id"/> was removed from the store (DELETE): its entry goes unless the series holds
    /// readings again. Why not always: a first reading of the series anew may have been applied and recorded between the
    /// removal and this call, and dropping its entry left a stored series unlisted, never swept nor counted (review).
    /// The entry goes also when it is one an answer recorded after an earlier removal (a phantom, the store empty).
    /// </summary>
    public async Task RemovedAsync(string id)
    {
        if (!_series.TryGetValue(id, out var entry) || await _lastSequence(id) != 0)
        {
            return;
        }

        // Only the entry seen before the store was read: one recorded since stands for a reading applied since.
        _series.TryRemove(KeyValuePair.Create(id, entry));
    }

    /// <summary>
    /// Forgets each series with no reading applied for <see cref="SeriesLimits.Idle"/> (none when it is zero); returns
    /// how many were removed. A series that took a reading while it was being forgotten is kept (its grain removes it
    /// only at the number recorded here).
    /// </summary>
    public async Task<int> SweepAsync(CancellationToken cancellationToken)
    {
        if (_limits.Idle <= TimeSpan.Zero)
        {
            return 0;
        }

        var before = _clock.GetUtcNow() - _limits.Idle;
        var removed = 0;
        foreach (var (id, entry) in _series)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.Applied > before)
            {
                continue;
            }

            try
            {
                if (await _forget(id, entry.LastSequence))
                {
                    // Only the entry seen: a reading recorded meanwhile keeps the series (a racing call found it empty,
                    // stored nothing and recorded nothing, so the entry is still this one).
                    _series.TryRemove(KeyValuePair.Create(id, entry));
                    removed++;
                }
                else if (await _lastSequence(id) == 0)
                {
                    // Nothing stored: an answer recorded after a DELETE had removed the series left this entry, which
                    // then counted against --series-max for good (review).
                    _series.TryRemove(KeyValuePair.Create(id, entry));
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                _log.LogWarning("serve --series: series {Id} idle since {Applied:u} could not be forgotten ({Type}: {Message}); the next sweep tries again", id, entry.Applied, e.GetType().Name, e.Message);
            }
        }

        if (removed > 0)
        {
            _log.LogInformation("serve --series: forgot {Removed} series idle for {Idle} or longer; {Held} held", removed, _limits.Idle, _series.Count);
        }

        return removed;
    }

    private string Ways() => _limits.Idle > TimeSpan.Zero
        ? $"idle for {_limits.Idle.TotalMinutes:N0} minute(s) (--series-idle), or removed with DELETE /series/{{id}}"
        : "removed with DELETE /series/{id}, or forgotten when idle if --series-idle is set";

    private sealed record Entry(long LastSequence, DateTimeOffset Applied);
}
