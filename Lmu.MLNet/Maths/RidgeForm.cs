namespace Lmu.MLNet.Maths;

/// <summary>Which side of the data the leave-one-out ridge factors (<see cref="RidgeLeaveOneOut"/>).</summary>
internal enum RidgeForm
{
    /// <summary>The rows' Gram matrix, n x n: cheaper when there are no more rows than features.</summary>
    Dual,

    /// <summary>The features' Gram matrix, p x p: cheaper when there are more rows than features.</summary>
    Primal,
}
