using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.PsMnist;

/// <summary>One psMNIST row: 784 permuted pixels in [0, 1] (784 steps x 1 channel) and the digit as text.</summary>
internal sealed class PsMnistRow
{
    public string Label { get; set; } = string.Empty;

    [VectorType(PsMnistData.Steps)]
    public float[] Features { get; set; } = [];
}

/// <summary>
/// The protocol of shared/data/README.md: pixels / 255, row-major to 784 steps, permuted with
/// np.random.RandomState(0).permutation(784); train = first 50,000 training images, validation = last 10,000, test =
/// the 10,000 test images.
/// </summary>
internal static class PsMnistData
{
    public const int Steps = 784;

    public static readonly string[] Digits = Enumerable.Range(0, 10).Select(d => d.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    public static (List<PsMnistRow> Train, List<PsMnistRow> Validation, List<PsMnistRow> Test) Load(string mnistDir, int trainRows, int validationRows, int testRows)
    {
        // Through the readers' checks (line limit, strict UTF-8): --data may name any folder (review).
        var permutation = Lmu.MLNet.Data.StrictTextLines.Read(Path.Combine(mnistDir, "psmnist_permutation_numpy_RandomState0.txt"))
            .Where(l => l.Trim().Length > 0).Select(int.Parse).ToArray();
        if (permutation.Length != Steps || permutation.Distinct().Count() != Steps || permutation.Sum() != 306936)
        {
            throw new InvalidDataException("The psMNIST permutation file is not a permutation of 0..783 (README: sum 306936).");
        }

        var (train, trainCount, width) = IdxReader.Images(Path.Combine(mnistDir, "train-images-idx3-ubyte.gz"));
        var trainLabels = IdxReader.Labels(Path.Combine(mnistDir, "train-labels-idx1-ubyte.gz"));
        var (test, testCount, _) = IdxReader.Images(Path.Combine(mnistDir, "t10k-images-idx3-ubyte.gz"));
        var testLabels = IdxReader.Labels(Path.Combine(mnistDir, "t10k-labels-idx1-ubyte.gz"));
        if (width != Steps || trainCount != 60000 || testCount != 10000)
        {
            throw new InvalidDataException($"Unexpected MNIST sizes: {trainCount} train, {testCount} test, {width} pixels.");
        }

        List<PsMnistRow> Rows(byte[] pixels, byte[] labels, int from, int count) =>
            Enumerable.Range(from, count).Select(i =>
            {
                var x = new float[Steps];
                for (var t = 0; t < Steps; t++)
                {
                    x[t] = pixels[(i * Steps) + permutation[t]] / 255f;
                }

                return new PsMnistRow { Label = Digits[labels[i]], Features = x };
            }).ToList();

        return (
            Rows(train, trainLabels, 0, Math.Min(trainRows, 50000)),
            Rows(train, trainLabels, 50000, Math.Min(validationRows, 10000)),
            Rows(test, testLabels, 0, Math.Min(testRows, 10000)));
    }
}
