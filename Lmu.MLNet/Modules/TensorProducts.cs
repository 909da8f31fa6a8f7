using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// Matrix products whose failures are .NET exceptions. TorchSharp 0.107's native <c>matmul</c> (THSTensor_matmul) is the
/// tensor operation that lacks the native try/catch every other one has, so a libtorch error inside it (operands of
/// different dtypes or devices, shapes that do not fit, an allocation that fails) terminates the process instead of
/// throwing (found by QA: a float64 input aborted a float32 layer in 100 of 130 cases). <see cref="MatMul"/> gives
/// <c>matmul</c>'s result through <c>mm</c>, <c>mv</c>, <c>dot</c> and <c>bmm</c>, which have the catch, folding the
/// leading dimensions into one product as <c>matmul</c> does; the library calls nothing else for a matrix product.
/// </summary>
internal static class TensorProducts
{
    /// <summary>
    /// <c>a.MatMul(b)</c> with <c>matmul</c>'s shape rules: [K]·[K] is a dot product, [..., M, K]·[K, N] one product
    /// over the folded leading dimensions, [..., K]·[K] a matrix-vector product, [K]·[..., K, N] a row times each matrix,
    /// and batched operands broadcast their batch dimensions.
    /// </summary>
    public static Tensor MatMul(this Tensor a, Tensor b)
    {
        var (da, db) = (a.dim(), b.dim());
        if (da == 0 || db == 0)
        {
            throw new ArgumentException($"A matrix product needs operands of at least one dimension, not [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}].");
        }

        if (da == 1 && db == 1)
        {
            return a.dot(b);
        }

        if (da == 1)
        {
            using var row = a.unsqueeze(0);
            using var product = row.MatMul(b);
            return product.squeeze(-2);
        }

        if (db == 1)
        {
            if (da == 2)
            {
                return a.mv(b);
            }

            using var rows = a.reshape(Leading(a.shape, 1), a.shape[^1]);
            using var product = rows.mv(b);
            return product.reshape(a.shape[..^1]);
        }

        if (db == 2)
        {
            if (da == 2)
            {
                return a.mm(b);
            }

            using var rows = a.reshape(Leading(a.shape, 1), a.shape[^1]);
            using var product = rows.mm(b);
            return product.reshape([.. a.shape[..^1], b.shape[1]]);
        }

        var batch = Broadcast(a.shape[..^2], b.shape[..^2], a, b);
        using var wideA = a.expand([.. batch, a.shape[^2], a.shape[^1]]);
        using var wideB = b.expand([.. batch, b.shape[^2], b.shape[^1]]);
        var count = batch.Aggregate(1L, (p, d) => p * d);
        using var left = wideA.reshape(count, a.shape[^2], a.shape[^1]);
        using var right = wideB.reshape(count, b.shape[^2], b.shape[^1]);
        using var products = left.bmm(right);
        return products.reshape([.. batch, a.shape[^2], b.shape[^1]]);
    }

    // The product of all but the last `kept` dimensions: reshape's -1 cannot be resolved when a dimension is 0.
    private static long Leading(long[] shape, int kept) => shape[..^kept].Aggregate(1L, (p, d) => p * d);

    // Broadcast batch dimensions (aligned from the right; a 1 stretches), or the error matmul would have given.
    private static long[] Broadcast(long[] x, long[] y, Tensor a, Tensor b)
    {
        var result = new long[Math.Max(x.Length, y.Length)];
        for (var i = 1; i <= result.Length; i++)
        {
            var (p, q) = (i <= x.Length ? x[^i] : 1, i <= y.Length ? y[^i] : 1);
            result[^i] = p == q || q == 1 ? p : p == 1 ? q
                : throw new ArgumentException($"The batch dimensions of [{string.Join(", ", a.shape)}] and [{string.Join(", ", b.shape)}] do not broadcast.");
        }

        return result;
    }
}
