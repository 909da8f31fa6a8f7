namespace Lmu.MLNet.Maths;

/// <summary>
/// Multi-output ridge regression with an unpenalised intercept whose penalty is chosen by exact leave-one-out error, in
/// float64. The caller centres the rows and the targets over the n rows, so the intercept is the targets' mean and
/// the weights minimise <c>(1/n) sum_i |y_i - z_i W|^2 + alpha |W|^2</c>. (Per-row averaging makes alpha the penalty on
/// unit-norm columns of the usual random-convolution recipe.) For each candidate, the residual of row i in a refit
/// without row i (intercept re-estimated, same penalty) has the closed form <c>e_i = r_i / (1 - H_ii)</c>, with r the
/// full fit's residuals and H its hat matrix, <c>11^T/n + Z (Z^T Z + n alpha I)^-1 Z^T</c> (centred rows make the
/// intercept's share exactly 1/n). So every candidate is scored without refitting.
/// </summary>
/// <remarks>
/// Two exact forms of the same fit, chosen by the smaller side of Z (<see cref="FormFor"/>):
/// <list type="bullet">
/// <item><see cref="RidgeForm.Dual"/> (n &lt;= p, the random-feature regime): the rows' Gram matrix <c>Z Z^T</c> in
/// <c>O(n^2 p)</c>, then per penalty a Cholesky factor and its inverse in <c>O(n^3 / 3)</c>.</item>
/// <item><see cref="RidgeForm.Primal"/> (n &gt; p, many rows of few features): the features' Gram matrix <c>Z^T Z</c>
/// in <c>O(n p^2)</c>, then per penalty <c>O(p^3 / 3 + n p^2 / 2)</c>. Before it existed, 20,000 rows of 100 features
/// took the dual's 20,000 x 20,000 matrices (3.2 GB each) and hours.</item>
/// </list>
/// Both hold two square matrices of their side (<see cref="WorkingBytes"/>) besides the rows.
/// </remarks>
internal static partial class RidgeLeaveOneOut
{
    /// <summary>The chosen penalty, the primal weights [p, k] and every candidate's mean squared leave-one-out error.</summary>
    public sealed record Result(double Alpha, double[,] Weights, IReadOnlyList<double> LeaveOneOutErrors);

    /// <summary>The form that does less work for n rows of p features: the dual up to n = p, the primal beyond.</summary>
    public static RidgeForm FormFor(int n, int p) => n <= p ? RidgeForm.Dual : RidgeForm.Primal;

    /// <summary>The side of the square matrices the chosen form factors: n for the dual form, p for the primal.</summary>
    public static int SideFor(int n, int p) => FormFor(n, p) == RidgeForm.Dual ? n : p;

    /// <summary>The bytes the solver allocates besides the rows and targets: two float64 square matrices of the chosen form's side.</summary>
    public static long WorkingBytes(int n, int p)
    {
        long side = SideFor(n, p);
        return 2 * side * side * sizeof(double);
    }

    /// <summary>Fits <paramref name="z"/> (n rows of p values, centred over the rows) to <paramref name="y"/> [n, k] (centred).</summary>
    /// <param name="z">Rows.</param>
    /// <param name="y">Targets.</param>
    /// <param name="alphas">Candidate penalties (on the per-row mean squared error, see the class summary).</param>
    /// <param name="cancellationToken">Checked once per row of each O(n^2)-or-more pass, so a caller's time budget stops a large fit promptly.</param>
    /// <param name="penaltyScored">Called after each candidate with its index and leave-one-out error (progress for long fits).</param>
    /// <param name="form">The form to use; null chooses by <see cref="FormFor"/> (tests compare the two).</param>
    /// <exception cref="ArgumentException">Shapes disagree, or a penalty is not finite and positive.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static Result Fit(
        IReadOnlyList<double[]> z,
        double[,] y,
        IReadOnlyList<double> alphas,
        CancellationToken cancellationToken = default,
        Action<int, double>? penaltyScored = null,
        RidgeForm? form = null)
    {
        var n = z.Count;
        if (n == 0 || y.GetLength(0) != n)
        {
            throw new ArgumentException($"ridge needs as many target rows as feature rows and at least one ({n} feature rows, {y.GetLength(0)} target rows).");
        }

        if (alphas.Count == 0 || alphas.Any(a => !(a > 0) || !double.IsFinite(a)))
        {
            throw new ArgumentException($"ridge penalties must be finite and greater than 0 but were [{string.Join(", ", alphas)}].");
        }

        var p = z[0].Length;
        var chosen = form ?? FormFor(n, p);
        var side = chosen == RidgeForm.Dual ? n : p;     // a forced form (tests) may differ from SideFor
        if ((long)side * side > Array.MaxLength)
        {
            throw new ArgumentException($"ridge's {chosen} form needs a {side} x {side} matrix, more than one array holds; use fewer {(chosen == RidgeForm.Dual ? "rows" : "features")}.");
        }

        var targets = Columns(y);
        return chosen == RidgeForm.Dual
            ? FitDual(z, targets, alphas, cancellationToken, penaltyScored)
            : FitPrimal(z, targets, alphas, cancellationToken, penaltyScored);
    }

    /// <summary>
    /// Records candidate <paramref name="a"/>'s mean squared error <paramref name="error"/>, reports it, and says whether
    /// it is the best so far (moving <paramref name="best"/> to it); strictly smaller wins, so ties keep the smaller
    /// penalty listed first.
    /// </summary>
    private static bool Scored(int a, double error, double[] errors, ref int best, Action<int, double>? penaltyScored)
    {
        errors[a] = error;
        penaltyScored?.Invoke(a, error);
        if (best >= 0 && !(error < errors[best]))
        {
            return false;
        }

        best = a;
        return true;
    }

    /// <summary>k zero columns of <paramref name="length"/> values.</summary>
    private static double[][] Zeros(int k, int length)
    {
        var columns = new double[k][];
        for (var c = 0; c < k; c++)
        {
            columns[c] = new double[length];
        }

        return columns;
    }

    /// <summary>[n, k] as k contiguous columns.</summary>
    private static double[][] Columns(double[,] y)
    {
        int n = y.GetLength(0), k = y.GetLength(1);
        var columns = new double[k][];
        for (var c = 0; c < k; c++)
        {
            columns[c] = new double[n];
            for (var i = 0; i < n; i++)
            {
                columns[c][i] = y[i, c];
            }
        }

        return columns;
    }

    /// <summary>k columns of p values as [p, k].</summary>
    private static double[,] Weights(double[][] columns, int p)
    {
        var weights = new double[p, columns.Length];
        for (var c = 0; c < columns.Length; c++)
        {
            for (var f = 0; f < p; f++)
            {
                weights[f, c] = columns[c][f];
            }
        }

        return weights;
    }
}
