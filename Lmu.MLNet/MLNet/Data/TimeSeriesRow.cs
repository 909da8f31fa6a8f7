namespace Lmu.MLNet.Data;

/// <summary>One labelled series of a <see cref="TimeSeriesDataset"/>.</summary>
/// <remarks>
/// The loaded series, as read (UcrLoader, or built by hand): immutable, unpadded and of its own length, so one data set
/// can be padded to any width or alignment later. ML.NET never sees this type: <see cref="TimeSeriesDataset.ToDataView"/>
/// pads each into the fixed-width columns Label, Features (Vector&lt;Single, width x channels&gt;) and Length (Single).
/// </remarks>
/// <param name="Label">Class label as written in the file.</param>
/// <param name="Values">The real steps only, time-major: step <c>t</c> is <c>[t*C, (t+1)*C)</c>; length <c>Length * Channels</c>.</param>
/// <param name="Length">Number of steps.</param>
public sealed record TimeSeriesRow(string Label, float[] Values, int Length);
