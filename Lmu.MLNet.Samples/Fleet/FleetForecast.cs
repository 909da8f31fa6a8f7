namespace Lmu.MLNet.Samples.Fleet;

/// <summary>The typed engine's output (only its members' names matter for the zip).</summary>
internal sealed class FleetForecast
{
    public float[] Forecast { get; set; } = [];

    public float[]? Lower { get; set; }

    public float[]? Upper { get; set; }
}
