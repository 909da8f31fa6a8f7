using Lmu.MLNet.Forecasting;
using Microsoft.Extensions.Options;

namespace Lmu.MLNet.Orleans;

/// <summary>
/// The silo's models: one <see cref="LmuForecastEngineModel"/> per version, loaded on first use and shared by every
/// series grain of the silo (not one per grain). A grain holds a <see cref="ModelLease"/> while it uses a version; a
/// version that is not current is unloaded only once no lease has held it for
/// <see cref="ForecastFleetOptions.UnusedVersionRetention"/>, never while a grain holds it. Thread-safe (grains of a
/// silo run in parallel).
/// </summary>
public sealed class ForecastModelCache
{
    private readonly object _gate = new();
    private readonly Dictionary<int, string> _paths;
    private readonly Dictionary<int, Entry> _entries = [];
    private readonly Func<string, LmuForecastEngineModel> _load;
    private readonly TimeSpan _retention;
    private readonly TimeProvider _time;
    private volatile int _current;

    /// <summary>A cache over the configured versions.</summary>
    public ForecastModelCache(IOptions<ForecastFleetOptions> options)
        : this(options.Value, LmuForecastEngineModel.Load)
    {
    }

    /// <summary>A cache over <paramref name="options"/>' versions, loading each model with <paramref name="load"/> (tests count loads).</summary>
    /// <param name="options">The versions' files, the current version and how long unused versions stay loaded.</param>
    /// <param name="load">Loads one model file.</param>
    /// <param name="time">The clock of <see cref="ForecastFleetOptions.UnusedVersionRetention"/> (tests move it); default the system's.</param>
    public ForecastModelCache(ForecastFleetOptions options, Func<string, LmuForecastEngineModel> load, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(load);
        if (options.UnusedVersionRetention < TimeSpan.Zero && options.UnusedVersionRetention != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException($"ForecastFleetOptions.UnusedVersionRetention must be zero or more (or Timeout.InfiniteTimeSpan: kept for good) but is {options.UnusedVersionRetention}.", nameof(options));
        }

        _paths = new Dictionary<int, string>(options.ModelPaths);
        _load = load;
        _retention = options.UnusedVersionRetention;
        _time = time ?? TimeProvider.System;
        if (!_paths.ContainsKey(options.CurrentVersion))
        {
            throw new ArgumentException(
                $"The current model version {options.CurrentVersion} has no model file; ForecastFleetOptions.ModelPaths lists {Versions(_paths.Keys)}.", nameof(options));
        }

        _current = options.CurrentVersion;
    }

    /// <summary>The version series switch to on their next reading.</summary>
    public int CurrentVersion => _current;

    /// <summary>How many times a model file was loaded (once per version while it stays loaded).</summary>
    public int Loads { get; private set; }

    /// <summary>Versions loaded now (the current one once used, and older ones some grain holds or held within the retention time).</summary>
    public IReadOnlyList<int> LoadedVersions
    {
        get
        {
            lock (_gate)
            {
                return _entries.Where(e => e.Value.Model.IsValueCreated).Select(e => e.Key).Order().ToArray();
            }
        }
    }

    /// <summary>
    /// Makes <paramref name="version"/> current: each series of this silo switches to it on its next reading. Roll a
    /// cluster out by calling this on every silo (or restarting silos with the new <see cref="ForecastFleetOptions.CurrentVersion"/>).
    /// The version's model is loaded first, so a missing or damaged file fails here and the current version stays as it
    /// was (QA: it was accepted unread, and from then on every reading of the silo failed, with no way back).
    /// </summary>
    /// <exception cref="ArgumentException">The version has no model file here, or is below the current one (versions only move forward: roll back by giving the old file a new version).</exception>
    /// <exception cref="InvalidDataException">The version's model file cannot be loaded (the message names it); nothing changed.</exception>
    /// <exception cref="IOException">The version's model file cannot be read (missing, no access); nothing changed.</exception>
    public void SetCurrentVersion(int version)
    {
        lock (_gate)
        {
            CheckForward(version);
        }

        // Loaded outside the lock (grains of other versions go on); the lease keeps it until it is current.
        using var lease = Acquire(version, nameof(version));
        lock (_gate)
        {
            CheckForward(version);
            _current = version;
            EvictUnused();
        }
    }

    /// <summary>Whether this silo has a model file for <paramref name="version"/>.</summary>
    public bool Knows(int version) => _paths.ContainsKey(version);

    /// <summary>The model of <paramref name="version"/>, loaded if needed, held until the lease is disposed.</summary>
    /// <exception cref="InvalidOperationException">This silo has no model file for the version (its configuration lacks a version a series uses).</exception>
    /// <exception cref="InvalidDataException">The model file cannot be loaded (the message names it).</exception>
    public ModelLease Acquire(int version) => Acquire(version, null);

    private ModelLease Acquire(int version, string? argument)
    {
        Entry entry;
        lock (_gate)
        {
            if (!_paths.TryGetValue(version, out var path))
            {
                // A series' stored version missing from the silo's list is the silo's configuration, not the caller's
                // reading: ArgumentException is what the grains throw for a bad reading (QA).
                var message = $"Model version {version} has no model file on this silo; it lists {Versions(_paths.Keys)}.";
                throw argument is null
                    ? new InvalidOperationException(message + " Every silo must list the versions its series use (ForecastFleetOptions.ModelPaths).")
                    : new ArgumentException(message, argument);
            }

            EvictUnused();
            if (!_entries.TryGetValue(version, out entry!))
            {
                entry = new Entry(new Lazy<LmuForecastEngineModel>(() => Load(path), LazyThreadSafetyMode.ExecutionAndPublication));
                _entries.Add(version, entry);
            }

            entry.Leases++;
        }

        try
        {
            // Outside the lock: one slow load does not stall grains of other versions; Lazy makes it happen once.
            return new ModelLease(this, version, entry.Model.Value);
        }
        catch
        {
            lock (_gate)
            {
                // The failed load stays cached in its Lazy: forget this entry (not one a later call made) so the next
                // Acquire tries the file again.
                entry.Leases--;
                if (_entries.TryGetValue(version, out var current) && ReferenceEquals(current, entry))
                {
                    _entries.Remove(version);
                }
            }

            throw;
        }
    }

    internal void Release(int version)
    {
        lock (_gate)
        {
            if (_entries.TryGetValue(version, out var entry))
            {
                if (--entry.Leases == 0)
                {
                    entry.Released = _time.GetUtcNow();
                }

                EvictUnused();
            }
        }
    }

    private void CheckForward(int version)
    {
        if (!_paths.ContainsKey(version))
        {
            throw new ArgumentException($"Model version {version} has no model file on this silo; it lists {Versions(_paths.Keys)}.", nameof(version));
        }

        if (version < _current)
        {
            throw new ArgumentException(
                $"Model version {version} is below the current {_current}: versions only move forward (a series never switches back). To roll back, give the old model file a new version number.",
                nameof(version));
        }
    }

    // Only versions nobody holds, that are not current, and that nobody held for the retention time: a held model is
    // never dropped under a grain, and series resuming on an old version one after another share one load.
    private void EvictUnused()
    {
        var now = _time.GetUtcNow();
        foreach (var (version, entry) in _entries.ToArray())
        {
            if (entry.Leases == 0 && version != _current && _retention != Timeout.InfiniteTimeSpan && now - entry.Released >= _retention)
            {
                _entries.Remove(version);
            }
        }
    }

    private LmuForecastEngineModel Load(string path)
    {
        var model = _load(path);
        lock (_gate)
        {
            Loads++;
        }

        return model;
    }

    private static string Versions(IEnumerable<int> versions) =>
        versions.Any() ? string.Join(", ", versions.Order()) : "none";

    private sealed class Entry(Lazy<LmuForecastEngineModel> model)
    {
        public Lazy<LmuForecastEngineModel> Model { get; } = model;

        public int Leases { get; set; }

        /// <summary>When the last lease was released (meaningful while <see cref="Leases"/> is 0).</summary>
        public DateTimeOffset Released { get; set; } = DateTimeOffset.MinValue;
    }
}
