namespace Lmu.MLNet.Maths;

/// <summary>
/// The Legendre delay system discretised with a time step of 1: <c>m_t = Ad m_{t-1} + Bd u_t</c>. Instances are
/// immutable; <see cref="Ad"/> and <see cref="Bd"/> hand out copies, so read them once into a local in hot loops.
/// </summary>
public sealed class DiscreteLegendreSystem
{
    private readonly double[,] _ad;
    private readonly double[] _bd;

    private DiscreteLegendreSystem(int order, double theta, LmuDiscretizer method, double[,] ad, double[] bd)
    {
        Order = order;
        Theta = theta;
        Method = method;
        _ad = ad;
        _bd = bd;
    }

    /// <summary>Number of Legendre coefficients in the memory (the size of <see cref="Ad"/> and <see cref="Bd"/>).</summary>
    public int Order { get; }

    /// <summary>Length of the remembered window, in time steps.</summary>
    public double Theta { get; }

    /// <summary>The discretisation that produced <see cref="Ad"/> and <see cref="Bd"/>.</summary>
    public LmuDiscretizer Method { get; }

    /// <summary>The discrete state matrix, <c>Order x Order</c>. Each read returns a new copy, so callers may modify it freely.</summary>
    public double[,] Ad => (double[,])_ad.Clone();

    /// <summary>The discrete input vector of length <see cref="Order"/>. Each read returns a new copy, so callers may modify it freely.</summary>
    public double[] Bd => (double[])_bd.Clone();

    /// <summary>Discretises the order-<paramref name="order"/> Legendre system with window <paramref name="theta"/>.</summary>
    /// <param name="order">Number of Legendre coefficients (at least 1).</param>
    /// <param name="theta">Window length in time steps; finite and greater than 0.</param>
    /// <param name="method">
    /// <see cref="LmuDiscretizer.Zoh"/>: <c>Ad</c> and <c>Bd</c> are the top-left block and top-right column of
    /// <c>expm([[A/theta, B/theta], [0, 0]])</c>. <see cref="LmuDiscretizer.Euler"/>: <c>Ad = I + A/theta</c>, <c>Bd = B/theta</c>.
    /// </param>
    /// <returns>The discrete system.</returns>
    /// <remarks>
    /// This computes the formulas for any positive theta, as a reference must: Euler below its stability bound (theta
    /// about 3.08 at order 3, 197 at order 32, 6,542 at order 256) gives a system whose impulse response grows without
    /// limit. The layer, network, estimator and featurizer options refuse such a theta, naming the bound.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">
    /// <paramref name="order"/> is below 1, <paramref name="theta"/> is not finite and positive, or
    /// <paramref name="method"/> is not a declared value.
    /// </exception>
    public static DiscreteLegendreSystem Create(int order, double theta, LmuDiscretizer method)
    {
        MathsGuard.Order(order);
        MathsGuard.Theta(theta);
        MathsGuard.Method(method);

        var a = LegendreSystem.ContinuousA(order);
        var b = LegendreSystem.ContinuousB(order);
        var ad = new double[order, order];
        var bd = new double[order];
        if (method == LmuDiscretizer.Zoh)
        {
            DiscretiseZoh(a, b, theta, ad, bd);
        }
        else
        {
            for (var i = 0; i < order; i++)
            {
                for (var j = 0; j < order; j++)
                {
                    ad[i, j] = (i == j ? 1.0 : 0.0) + a[i, j] / theta;
                }

                bd[i] = b[i] / theta;
            }
        }

        return new DiscreteLegendreSystem(order, theta, method, ad, bd);
    }

    /// <summary>
    /// The response of the memory to a unit impulse at time 0 from a zero state: row <c>tau</c> is
    /// <c>Ad^tau Bd</c>, so row 0 is <c>Bd</c> itself (the input reaches the memory in the same step, no extra delay).
    /// </summary>
    /// <param name="length">Number of time steps (rows); 0 gives an empty <c>0 x Order</c> array.</param>
    /// <returns>A new <c>[length, Order]</c> array.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="length"/> is negative.</exception>
    public double[,] ImpulseResponse(int length)
    {
        MathsGuard.Length(length);
        var n = Order;
        var rows = SquareMatrix.PowerRows(SquareMatrix.Flatten(_ad), _bd, n, length, length);
        var h = new double[length, n];
        Buffer.BlockCopy(rows, 0, h, 0, rows.Length * sizeof(double));
        return h;
    }

    /// <summary>
    /// Runs the recurrence <c>m_t = Ad m_{t-1} + Bd u_t</c> from a zero state over <paramref name="input"/> and returns
    /// every state: row t is the memory after reading steps 0..t. This is the step-by-step form; the convolution with
    /// <see cref="ImpulseResponse"/> is the same map written the other way.
    /// </summary>
    /// <param name="input">The scalar input sequence u.</param>
    /// <returns>A new <c>[input.Length, Order]</c> array.</returns>
    public double[,] States(ReadOnlySpan<double> input)
    {
        var n = Order;
        var states = new double[input.Length, n];
        var current = new double[n];
        var next = new double[n];
        for (var t = 0; t < input.Length; t++)
        {
            for (var i = 0; i < n; i++)
            {
                var sum = _bd[i] * input[t];
                for (var j = 0; j < n; j++)
                {
                    sum += _ad[i, j] * current[j];
                }

                next[i] = sum;
                states[t, i] = sum;
            }

            (current, next) = (next, current);
        }

        return states;
    }

    /// <summary>
    /// Zero-order hold through one exponential of the augmented matrix: because the input is constant over the step,
    /// (m, u) evolves under [[A/theta, B/theta], [0, 0]], and exp of that carries both Ad and Bd without ever
    /// inverting A/theta (which the closed form (A/theta)^-1 (Ad - I) B/theta would need).
    /// </summary>
    private static void DiscretiseZoh(double[,] a, double[] b, double theta, double[,] ad, double[] bd)
    {
        var n = b.Length;
        var augmented = new double[n + 1, n + 1];
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                augmented[i, j] = a[i, j] / theta;
            }

            augmented[i, n] = b[i] / theta;
        }

        var e = MatrixExponential.Exp(augmented);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                ad[i, j] = e[i, j];
            }

            bd[i] = e[i, n];
        }
    }
}
