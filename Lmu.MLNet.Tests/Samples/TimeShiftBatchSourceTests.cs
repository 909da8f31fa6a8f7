using Lmu.MLNet.Samples.Ucr;
using Lmu.MLNet.Training;
using TorchSharp;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>ucr-dynamics +shift: every training row moves by a whole number of steps in [-max, max], edges held.</summary>
[TestClass]
public sealed class TimeShiftBatchSourceTests
{
    private const int Rows = 6, Steps = 10, Channels = 2, MaxShift = 3;

    [TestMethod]
    public void EachRowIsItselfShiftedWithinTheBoundAndKeepsItsTarget()
    {
        // x[b, t, c] = 100 b + 10 t + c: every value says where it came from.
        var values = new float[Rows * Steps * Channels];
        for (int b = 0; b < Rows; b++)
            for (int t = 0; t < Steps; t++)
                for (int c = 0; c < Channels; c++) values[(((b * Steps) + t) * Channels) + c] = (100 * b) + (10 * t) + c;
        using var x = torch.tensor(values, [Rows, Steps, Channels]);
        using var y = torch.arange(Rows, dtype: torch.int64);
        var source = new TimeShiftBatchSource(new TensorBatchSource(x, y, 4, shuffle: false, seed: 1), MaxShift, seed: 9);

        var shifts = new HashSet<int>();
        for (int epoch = 0; epoch < 5; epoch++)
        {
            var first = Epoch(source, epoch);
            CollectionAssert.AreEqual(first, Epoch(source, epoch), $"epoch {epoch}: the same seed and epoch must shift alike");
            foreach (var (row, shifted) in first)
            {
                var k = ShiftOf(row, shifted);
                Assert.IsTrue(Math.Abs(k) <= MaxShift, $"row {row} moved by {k} steps");
                shifts.Add(k);
            }
        }

        Assert.IsGreaterThan(3, shifts.Count, $"shifts seen: {string.Join(", ", shifts)}; the rows were hardly moved");
    }

    [TestMethod]
    public void RowsWithALengthColumnAreRefused()
    {
        using var x = torch.zeros([2, Steps, 1]);
        using var y = torch.zeros([2], dtype: torch.int64);
        using var lengths = torch.full([2], Steps, dtype: torch.int64);
        var source = new TimeShiftBatchSource(new TensorBatchSource(x, y, 2, shuffle: false, seed: 1, lengths), MaxShift, seed: 1);
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => source.Batches(0).ToList());
        StringAssert.Contains(e.Message, "length column");
    }

    // (target, the row's values) for every row of one epoch, in batch order.
    private static List<(long Row, string Values)> Epoch(ILmuBatchSource source, int epoch)
    {
        var rows = new List<(long, string)>();
        foreach (var batch in source.Batches(epoch))
        {
            using (batch)
            {
                var f = batch.Features.contiguous().data<float>().ToArray();
                var targets = batch.Target.data<long>().ToArray();
                for (int b = 0; b < targets.Length; b++)
                {
                    rows.Add((targets[b], string.Join(",", f.Skip(b * Steps * Channels).Take(Steps * Channels))));
                }
            }
        }

        return rows;
    }

    // The k with shifted[t] = row[clamp(t - k)] for every step and channel; fails if there is none.
    private static int ShiftOf(long row, string shifted)
    {
        var got = shifted.Split(',').Select(float.Parse).ToArray();
        for (int k = -Steps; k <= Steps; k++)
        {
            bool match = true;
            for (int t = 0; t < Steps && match; t++)
                for (int c = 0; c < Channels && match; c++)
                    match = got[(t * Channels) + c] == (100 * row) + (10 * Math.Clamp(t - k, 0, Steps - 1)) + c;
            if (match) return k;
        }

        Assert.Fail($"row {row} is not a shifted copy of itself: {shifted}");
        return 0;
    }
}
