using Lmu.MLNet.Network;

namespace Lmu.MLNet.Forecasting;

/// <summary>
/// Streaming forecaster (the counterpart of ML.NET's TimeSeriesPredictionEngine): feed observations one at a time
/// and get the next-horizon forecast after each, without re-reading history; <see cref="CheckPoint"/> saves the
/// model and the state to a file that <see cref="Load(string)"/> resumes, in any process, with identical forecasts.
/// Managed float64 arithmetic, no libtorch and no ONNX Runtime. Not thread-safe (one engine per stream).
/// Built from a fitted forecaster with <see cref="LmuForecastTransformer.CreateEngine"/>, or from a model zip carrying
/// an engine (a forecaster's zip, fitted with 0.4.0 or later, or a typed engine's CheckPoint zip) with
/// <c>LmuForecastEngineModel.Load(path).CreateEngine()</c>; a fresh engine's checkpoint is the start of a stream too.
/// </summary>
/// <remarks>
/// The engine reproduces the batch model exactly (up to float32 rounding of the ONNX graph): each forecast is that of
/// the window of the last <see cref="WindowSize"/> observations. For the default forecaster layer (memory without
/// recurrent input, hidden cell None or Dense) the window's Legendre memory is slid in O(C q^2) per step: with F_t
/// the memory of the whole stream of a raw channel, the memory of the last T steps is F_t - Ad^T F_{t-T}, because the
/// memory is linear and time-invariant (F_t = sum_j Ad^j Bd x_{t-j}); the scaling is applied after the memory, which
/// linearity allows (m = (R - a S) / b, S the memory of a constant 1), provided Ad is stable (learned dynamics may
/// not be: when the engine cannot prove its spectral radius below 1 it re-runs the window). When F_t outgrows the window's
/// memory by 2^20 (an extreme reading that has left the window: the difference would cancel it inexactly), the engine
/// restarts F from the window's own steps, once. Layers with a recurrent hidden cell or
/// hidden/memory-to-memory encoders, and stacks of layers (whose second layer reads the first one's output at every
/// step of the window), have no such identity, so the engine re-runs the window through every layer (O(T) cell steps
/// per layer and observation). Window statistics for per-window scaling cost O(T) per step.
/// </remarks>
public sealed partial class LmuForecastEngine
{
    private readonly LmuForecastModel _model;
    private readonly int _t;
    private readonly int _c;
    private readonly int _q;
    private readonly bool _sliding;
    private readonly double[] _raw;        // ring [T, C] of raw observations
    private readonly double[] _fullRing;   // ring [T, C*q] of whole-stream memories F (sliding form only)
    private readonly double[] _full;       // F_t [C*q]
    private readonly double[] _window;     // R_c = F_t - Ad^T F_{t-T}: memory of the last T raw values [C*q]
    private readonly double[] _adPowT;     // Ad^T row-major [q, q]
    private readonly double[] _constantMemory; // S = sum_{j<T} Ad^j Bd
    private long _count;
    private LmuForecast? _last;
    private int _inUse;

    internal LmuForecastEngine(LmuForecastModel model)
    {
        _model = model;
        _t = model.WindowSize;
        _c = model.Channels;
        var l = model.Network.Layers[0];
        _q = l.Order;
        // Ad^T and S depend on the model alone: computed once per model and shared by all its engines (a fleet holds
        // one engine per series; O(T q^3) per engine would dominate activating a series, q^2 doubles each its memory).
        var tables = Tables(model);
        _sliding = tables != SlidingTables.None;
        _raw = new double[_t * _c];
        _fullRing = _sliding ? new double[_t * _c * _q] : [];
        _full = _sliding ? new double[_c * _q] : [];
        _window = _sliding ? new double[_c * _q] : [];
        _adPowT = tables.AdPowT;
        _constantMemory = tables.ConstantMemory;
    }

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<LmuForecastModel, SlidingTables> SharedTables = new();

    /// <summary>Window length T: forecasts start once this many observations have been fed.</summary>
    public int WindowSize => _t;

    /// <summary>Number of values in each forecast.</summary>
    public int Horizon => _model.Horizon;

    /// <summary>Covariates expected with each observation, in this order.</summary>
    public IReadOnlyList<string> CovariateNames => _model.CovariateColumns;

    /// <summary>Observations fed so far (including those before a checkpoint).</summary>
    public long ObservationCount => _count;

    /// <summary>Whether forecasts are available (at least <see cref="WindowSize"/> observations fed).</summary>
    public bool IsReady => _count >= _t;

    /// <summary>
    /// SHA-256 (64 lowercase hex digits) of the engine's model: weights, sizes, scaling, bound offsets and column names.
    /// Stored in every checkpoint; <see cref="Load(string, string?)"/> and <see cref="LmuForecastTransformer.ResumeEngine"/>
    /// refuse a checkpoint whose model has another one, and a host (a service, a grain) can compare it with the model it serves.
    /// </summary>
    public string ModelFingerprint => _model.Fingerprint;

    /// <summary>True when the state is slid in O(q^2) per step; false when each step re-runs the window.</summary>
    public bool SlidesState => _sliding;

    /// <summary>The forecast after the latest observation, or null before <see cref="IsReady"/>.</summary>
    public LmuForecast? Current => _last;

    /// <summary>
    /// Feeds one observation and returns the forecast of the next <see cref="Horizon"/> values, or null while fewer
    /// than <see cref="WindowSize"/> observations have been fed.
    /// </summary>
    /// <param name="value">The series value (finite).</param>
    /// <param name="covariates">One finite value per entry of <see cref="CovariateNames"/>, in that order.</param>
    /// <exception cref="ArgumentException">A non-finite value or a wrong number of covariates; the state is unchanged.</exception>
    public LmuForecast? Observe(float value, params ReadOnlySpan<float> covariates)
    {
        Validate(value, covariates);
        using var use = Use(nameof(Observe));
        var slot = (int)(_count % _t);
        _raw[slot * _c] = value;
        for (var c = 1; c < _c; c++)
        {
            _raw[slot * _c + c] = covariates[c - 1];
        }

        if (_sliding)
        {
            Slide(slot);
        }

        _count++;
        _last = IsReady ? Predict() : null;
        return _last;
    }

    /// <summary>
    /// Marks a call on this engine until disposed. The engine is one stream's state and not thread-safe: a call that
    /// overlaps another one (two threads sharing an engine) throws instead of interleaving with it, where QA saw 833 of
    /// 40,000 observations lost without an error. Best effort, like the collections' concurrent-use checks: calls from
    /// several threads that never overlap pass, and are also not corrupted.
    /// </summary>
    private UseScope Use(string operation) =>
        Interlocked.CompareExchange(ref _inUse, 1, 0) == 0
            ? new UseScope(this)
            : throw new InvalidOperationException(
                $"LmuForecastEngine.{operation} was called while another call on the same engine was running: an engine is one stream's state and is not thread-safe. " +
                "Give each thread (or series) its own engine, or serialise the calls (a lock, or an Orleans grain per series).");

    private readonly struct UseScope(LmuForecastEngine engine) : IDisposable
    {
        public void Dispose() => Volatile.Write(ref engine._inUse, 0);
    }

    // Only a single layer slides: a second layer reads the first one's output at every step of the window, which
    // depends on the window's own scaling and start (each window starts from a zero state), so it has no such identity.
    private static bool SlidingForm(LmuNetworkSpec s) =>
        s.Layers.Count == 1 && s.Layers[0].MemoryIsFeedForward && s.Layers[0].Hidden is HiddenCell.None or HiddenCell.Dense;

    /// <summary>Whether engines of this model slide their memory (see the remarks); decided once per model.</summary>
    private static bool Slides(LmuForecastModel model) => Tables(model) != SlidingTables.None;

    private static SlidingTables Tables(LmuForecastModel model) => SharedTables.GetValue(model, SlidingTables.Compute);

    /// <summary>
    /// True when Ad's spectral radius is provably below 1: some power Ad^(2^k) (k &lt; 20) has a Frobenius norm below
    /// 1, which bounds the spectral radius below 1 (the radius of Ad^n is the n-th power of Ad's, and no norm is below
    /// the radius). The Legendre system's Ad always passes (its poles are those of a Padé delay, in the left half
    /// plane); a learned A, or Euler with theta near the order, may not, and then the whole-stream memory F_t of the
    /// sliding form would grow without bound where the T-step window stays finite. Undecided counts as not stable:
    /// the window is re-run, which is exact for every model.
    /// </summary>
    internal static bool IsStable(double[] ad, int q)
    {
        var m = ad;
        for (var k = 0; k < 20; k++)
        {
            var norm = Math.Sqrt(m.Sum(v => v * v));
            if (norm < 1) return true;
            if (!(norm < 1e12)) return false;
            m = Maths.SquareMatrix.Multiply(m, m, q);
        }

        return false;
    }

    private void Validate(float value, ReadOnlySpan<float> covariates)
    {
        if (!float.IsFinite(value))
        {
            throw new ArgumentException(
                $"Observation {_count}: the series value is {value}; the engine needs finite values (fill gaps before streaming).", nameof(value));
        }

        if (covariates.Length != _c - 1)
        {
            var names = _model.CovariateColumns.Count == 0 ? "none" : string.Join(", ", _model.CovariateColumns);
            throw new ArgumentException(
                $"Observation {_count}: {covariates.Length} covariate value(s) given; the model was trained with {_c - 1} ({names}).", nameof(covariates));
        }

        for (var i = 0; i < covariates.Length; i++)
        {
            if (!float.IsFinite(covariates[i]))
            {
                throw new ArgumentException(
                    $"Observation {_count}: covariate '{_model.CovariateColumns[i]}' is {covariates[i]}; the engine needs finite values.", nameof(covariates));
            }
        }
    }

    // F_t = Ad F_{t-1} + Bd x_t per raw channel; the ring slot of step t holds F_{t-T} until it is overwritten here.
    private void Slide(int slot)
    {
        var next = new double[_c * _q];
        Step(_full, slot, next);

        // R = F_t - Ad^T F_{t-T}; slots of steps before T hold zeros, the memory of an empty past.
        var ring = slot * _c * _q;
        for (var c = 0; c < _c; c++)
        {
            for (var i = 0; i < _q; i++)
            {
                var s = next[c * _q + i];
                for (var j = 0; j < _q; j++)
                {
                    s -= _adPowT[i * _q + j] * _fullRing[ring + c * _q + j];
                }

                _window[c * _q + i] = s;
            }
        }

        next.CopyTo(_full, 0);
        next.CopyTo(_fullRing, ring);
        if (_count + 1 >= _t && MaxAbs(_full) > LostPrecision * MaxAbs(_window))
        {
            Reanchor();
        }
    }

    /// <summary>
    /// How far the whole-stream memory may outgrow the window's before the difference R = F_t - Ad^T F_{t-T} is no
    /// longer exact: R's rounding error is about 1e-16 of |F_t|, so above 2^20 times |R| it could reach 1e-10 of R, near
    /// what float32 forecasts show. Found by QA: one reading of 3e38 (or 1e16) in a stream of values near 100 left F
    /// huge for hundreds of steps after the reading had left the window, where the two terms cancel, and forecasts were
    /// off by up to 22 with no error; up to 1e9 the forecasts stayed bit for bit.
    /// </summary>
    private const double LostPrecision = 1 << 20;

    /// <summary>
    /// Restarts the whole-stream memory at the window's first step: F' of each step of the window is the memory of the
    /// window's steps up to it from a zero state, so F'_t = R_t exactly and R keeps its identity from here on (it only
    /// needs F' - Ad^T F'_{t-T} over the steps to come). O(T C q^2), once per such event: F' holds nothing older than
    /// the window, so it does not recur until the stream outgrows the window again.
    /// </summary>
    private void Reanchor()
    {
        var f = new double[_c * _q];
        var next = new double[_c * _q];
        for (var k = _count - _t + 1; k <= _count; k++)
        {
            var slot = (int)(k % _t);
            Step(f, slot, next);
            (f, next) = (next, f);
            f.CopyTo(_fullRing, slot * _c * _q);
        }

        f.CopyTo(_full, 0);
        f.CopyTo(_window, 0);
        Reanchors++;
    }

    /// <summary>Times the whole-stream memory was restarted from the window (tests, diagnostics).</summary>
    internal long Reanchors { get; private set; }

    // to = Ad from + Bd x_slot, per raw channel.
    private void Step(double[] from, int slot, double[] to)
    {
        var ad = _model.Network.Layers[0].Ad;
        var bd = _model.Network.Layers[0].Bd;
        for (var c = 0; c < _c; c++)
        {
            var x = _raw[slot * _c + c];
            for (var i = 0; i < _q; i++)
            {
                var s = bd[i] * x;
                for (var j = 0; j < _q; j++)
                {
                    s += ad[i * _q + j] * from[c * _q + j];
                }

                to[c * _q + i] = s;
            }
        }
    }

    private static double MaxAbs(double[] values)
    {
        var max = 0.0;
        foreach (var v in values)
        {
            max = Math.Max(max, Math.Abs(v));
        }

        return max;
    }

    private LmuForecast Predict()
    {
        var spec = _model.Network;
        var oldest = (int)(_count % _t);
        var target = new double[_t];
        for (var k = 0; k < _t; k++)
        {
            target[k] = _raw[((oldest + k) % _t) * _c];
        }

        var (a0, b0) = _model.TargetScaling(target);
        var a = (double[])_model.Location.Clone();
        var b = (double[])_model.Scale.Clone();
        a[0] = a0;
        b[0] = b0;

        double[] y;
        if (_sliding)
        {
            y = PredictSliding(spec.Layers[0], a, b);
        }
        else
        {
            var x = new double[_t * _c];
            for (var k = 0; k < _t; k++)
            {
                var row = (oldest + k) % _t;
                for (var c = 0; c < _c; c++)
                {
                    x[k * _c + c] = (_raw[row * _c + c] - a[c]) / b[c];
                }
            }

            y = LmuWindowForward.Run(spec, x);
        }

        var h = _model.Horizon;
        var forecast = new float[h];
        float[]? lower = _model.HasBounds ? new float[h] : null;
        float[]? upper = _model.HasBounds ? new float[h] : null;
        for (var i = 0; i < h; i++)
        {
            forecast[i] = (float)(a0 + b0 * y[i]);
            if (lower is not null)
            {
                lower[i] = (float)(a0 + b0 * (y[i] + _model.LowerOffsets![i]));
                upper![i] = (float)(a0 + b0 * (y[i] + _model.UpperOffsets![i]));
            }
        }

        return new LmuForecast(forecast, lower, upper);
    }

    private double[] PredictSliding(LmuLayerSpec l, double[] a, double[] b)
    {
        // m_k = sum_c (E[c,k] / b_c) R_c + (bu_k - sum_c a_c E[c,k] / b_c) S, with E = identity when there is no encoder.
        var d = l.MemoryD;
        var m = new double[d * _q];
        for (var k = 0; k < d; k++)
        {
            double constant = l.Bu?[k] ?? 0;
            for (var c = 0; c < _c; c++)
            {
                double e = l.Ex is null ? (c == k ? 1 : 0) : l.Ex[c * d + k];
                if (e == 0)
                {
                    continue;
                }

                var w = e / b[c];
                constant -= a[c] * w;
                for (var i = 0; i < _q; i++)
                {
                    m[k * _q + i] += w * _window[c * _q + i];
                }
            }

            for (var i = 0; i < _q; i++)
            {
                m[k * _q + i] += constant * _constantMemory[i];
            }
        }

        var last = (int)((_count - 1) % _t);
        var xLast = new double[_c];
        for (var c = 0; c < _c; c++)
        {
            xLast[c] = (_raw[last * _c + c] - a[c]) / b[c];
        }

        var layer = LmuWindowForward.HiddenStep(l, m, xLast, [], []);
        return LmuWindowForward.Head(_model.Network, layer);
    }

    // Read-only after construction, so engines of one model on any thread may share them.
    private sealed record SlidingTables(double[] AdPowT, double[] ConstantMemory)
    {
        public static readonly SlidingTables None = new([], []);

        public static SlidingTables Compute(LmuForecastModel m)
        {
            if (!SlidingForm(m.Network)) return None;
            var l = m.Network.Layers[0];
            return IsStable(l.Ad, l.Order) ? new(Power(l.Ad, l.Order, m.WindowSize), LmuForecastEngine.ConstantMemory(l.Ad, l.Bd, m.WindowSize)) : None;
        }
    }

    private static double[] Power(double[] ad, int q, int power)
    {
        var result = new double[q * q];
        for (var i = 0; i < q; i++)
        {
            result[i * q + i] = 1;
        }

        for (var p = 0; p < power; p++)
        {
            var next = new double[q * q];
            for (var i = 0; i < q; i++)
            {
                for (var k = 0; k < q; k++)
                {
                    var v = result[i * q + k];
                    for (var j = 0; j < q; j++)
                    {
                        next[i * q + j] += v * ad[k * q + j];
                    }
                }
            }

            result = next;
        }

        return result;
    }

    private static double[] ConstantMemory(double[] ad, double[] bd, int steps)
    {
        var q = bd.Length;
        var s = new double[q];
        var h = Onnx.LmuImpulseResponse.Compute(ad, bd, steps);
        for (var t = 0; t < steps; t++)
        {
            for (var i = 0; i < q; i++)
            {
                s[i] += h[t * q + i];
            }
        }

        return s;
    }
}
