namespace Lmu.MLNet.Data;

/// <summary>One labelled series of a <see cref="TimeSeriesDataset"/>.</summary>
/// <param name="Label">Class label as written in the file.</param>
/// <param name="Values">The real steps only, time-major: step <c>t</c> is <c>[t*C, (t+1)*C)</c>; length <c>Length * Channels</c>.</param>
/// <param name="Length">Number of steps.</param>
public sealed record TimeSeriesRow(string Label, float[] Values, int Length);
