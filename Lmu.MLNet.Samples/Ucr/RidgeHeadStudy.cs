using Lmu.MLNet.Experiments;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Ridge;
using Microsoft.ML;
using Microsoft.ML.Data;
using TorchSharp;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>
/// The study's "+ridge" suffix: after the network has trained, its head is set aside and the library's ridge classifier
/// (<see cref="RidgeClassifierTrainer"/> at its defaults: standardised features, targets +1/-1, the penalty chosen by
/// exact leave-one-out error) is fitted to the readout of the training rows. Why: with 20-100 rows the closed-form,
/// leave-one-out-regularised linear read of fixed features is what makes pooled memories + ridge strong; this asks
/// whether the trained network's own features read that way do better than its gradient-trained head.
/// </summary>
internal static class RidgeHeadStudy
{
    /// <summary>Row-major [scoreRows, classes]: the ridge's Score (softmax of its decision values) for each scored row.</summary>
    public static float[] Probabilities(LmuNetwork network, LmuExperimentData train, int[] fitRows, LmuExperimentData score, int[] scoreRows)
    {
        var classes = train.ClassNames.Count;
        var ml = new MLContext(1);
        var fitView = View(ml, Features(network, train, fitRows), fitRows.Select(r => train.Labels[r]).ToArray(), classes);
        var ridge = new RidgeClassifierTrainer(new RidgeClassifierOptions()).Fit(fitView);
        // The scored rows' labels are not read by the ridge; class 0 fills the column.
        var scored = ridge.Transform(View(ml, Features(network, score, scoreRows), new int[scoreRows.Length], classes));
        var p = new List<float>(scoreRows.Length * classes);
        foreach (var s in scored.GetColumn<VBuffer<float>>(scored.Schema["Score"])) p.AddRange(s.DenseValues());
        return p.ToArray();
    }

    private sealed class Row
    {
        public uint Label { get; set; }

        public float[] Features { get; set; } = [];
    }

    private static IDataView View(MLContext ml, List<float[]> features, int[] labels, int classes)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features[0].Length);
        schema[nameof(Row.Label)].ColumnType = new KeyDataViewType(typeof(uint), classes);
        // LoadFromEnumerable reads a key property as the 0-based class index (the view's key is that plus 1; 0 is missing).
        return ml.Data.LoadFromEnumerable(features.Select((f, i) => new Row { Label = (uint)labels[i], Features = f }).ToList(), schema);
    }

    private static List<float[]> Features(LmuNetwork network, LmuExperimentData data, int[] rows)
    {
        var result = new List<float[]>(rows.Length);
        network.eval();
        using var noGrad = torch.no_grad();
        for (var start = 0; start < rows.Length; start += 256)
        {
            using var scope = torch.NewDisposeScope();
            var (x, _) = data.Tensors(rows.Skip(start).Take(256).ToArray());
            using var r = network.Readout(x, null).to(torch.CPU).contiguous();
            var width = (int)r.shape[1];
            var values = r.data<float>().ToArray();
            for (var i = 0; i < r.shape[0]; i++) result.Add(values.AsSpan(i * width, width).ToArray());
        }

        return result;
    }
}
