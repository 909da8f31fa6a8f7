using System.Globalization;

namespace Lmu.MLNet.Samples.Ucr;

/// <summary>One row of shared/data/ucr/published_accuracy.csv (test accuracies from the literature).</summary>
internal sealed record PublishedAccuracy(string Dataset, double Euclidean, double DtwLearnedWindow, double DtwFull, double Rocket, double InceptionTime)
{
    public static Dictionary<string, PublishedAccuracy> Read(string path)
    {
        var lines = Lmu.MLNet.Data.StrictTextLines.Read(path).ToArray();
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name) is var i and >= 0 ? i : throw new InvalidDataException($"'{path}' has no column {name}.");
        var (ed, dtwW, dtw, rocket, inception) = (Col("1NN_ED_acc"), Col("1NN_DTW_learned_w_acc"), Col("1NN_DTW_full_acc"), Col("ROCKET_mean_acc"), Col("InceptionTime_acc"));
        double D(string[] p, int i) => double.Parse(p[i], CultureInfo.InvariantCulture);
        return lines.Skip(1).Where(l => l.Length > 0).Select(l => l.Split(','))
            .ToDictionary(p => p[0], p => new PublishedAccuracy(p[0], D(p, ed), D(p, dtwW), D(p, dtw), D(p, rocket), D(p, inception)));
    }
}
