using Lmu.MLNet.Forecasting;
using Microsoft.Extensions.Options;

namespace Lmu.MLNet.Orleans;

/// <summary>
/// The silo's models: one <see cref="LmuForecastEngineModel"/> per version, loaded on first use and shared by every
/// series grain of the silo (not one per grain). A grain holds a <see cref="ModelLease"/> while it uses a version; a
/// version that is not current is unloaded only when its last lease is released, never while a grain holds it.
/// Thread-safe (grains of a silo run in parallel).
/// </summary>
public sealed class ForecastModelCache
{
    private readonly object _gate = new();
    private readonly Dictionary<int, string> _paths;
    private readonly Dictionary<int, Entry> _entries = [];
    private readonly Func<string, LmuForecastEngineModel> _load;
    private volatile int _current;

    /// <summary>A cache over the configured versions.</summary>
    public ForecastModelCache(IOptions<ForecastFleetOptions> options)
        : this(options.Value, LmuForecastEngineModel.Load)
    {
    }

    /// <summary>A cache over <paramref name="options"/>' versions, loading each model with <paramref name="load"/> (tests count loads).</summary>
    public ForecastModelCache(ForecastFleetOptions options, Func<string, LmuForecastEngineModel> load)
    {
        ArgumentNullException.ThrowIfNull(options);
        _paths = new Dictionary<int, string>(options.ModelPaths);
        _load = load;
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

    /// <summary>Versions loaded now (the current one once used, and older ones some grain still holds).</summary>
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
    /// </summary>
    /// <exception cref="ArgumentException">The version has no model file here, or is below the current one (versions only move forward: roll back by giving the old file a new version).</exception>
    public void SetCurrentVersion(int version)
    {
        lock (_gate)
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

            _current = version;
            EvictUnused();
        }
    }

    /// <summary>Whether this silo has a model file for <paramref name="version"/>.</summary>
    public bool Knows(int version) => _paths.ContainsKey(version);

    /// <summary>The model of <paramref name="version"/>, loaded if needed, held until the lease is disposed.</summary>
    /// <exception cref="ArgumentException">This silo has no model file for the version.</exception>
    /// <exception cref="InvalidDataException">The model file cannot be loaded (the message names it).</exception>
    public ModelLease Acquire(int version)
    {
        Entry entry;
        lock (_gate)
        {
            if (!_paths.TryGetValue(version, out var path))
            {
                throw new ArgumentException($"Model version {version} has no model file on this silo; it lists {Versions(_paths.Keys)}.", nameof(version));
            }

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
                entry.Leases--;
                EvictUnused();
            }
        }
    }

    // Only versions nobody holds and that are not current: a held model is never dropped under a grain.
    private void EvictUnused()
    {
        foreach (var (version, entry) in _entries.ToArray())
        {
            if (entry.Leases == 0 && version != _current)
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
    }
}
