using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>Services and routes added to the prediction service (serve --series adds a silo and the series routes).</summary>
/// <param name="Configure">Called on the builder before the app is built.</param>
/// <param name="Map">Called on the app after /predict is mapped, with the service's logger.</param>
/// <param name="HealthProblem">Null while the added routes work; otherwise why not, reported by /health as /predict's own problems are.</param>
/// <param name="StartedLine">Called once the service has started (the silo too); a line it returns is printed after the start lines.</param>
internal sealed record ServeExtension(Action<WebApplicationBuilder> Configure, Action<WebApplication, ILogger> Map, Func<string?>? HealthProblem = null, Func<string?>? StartedLine = null);
