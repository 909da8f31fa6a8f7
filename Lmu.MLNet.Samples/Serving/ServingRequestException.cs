namespace Lmu.MLNet.Samples.Serving;

/// <summary>A request the caller must fix (answered with 400 and this message).</summary>
internal sealed class ServingRequestException(string message) : Exception(message);
