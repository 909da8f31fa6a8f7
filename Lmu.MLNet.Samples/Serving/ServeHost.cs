using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// The prediction service: an ASP.NET Core minimal API over <see cref="ModelService"/>. POST /predict (one JSON object
/// in, one out), GET /health, GET /model. Bad JSON, missing fields and wrong vector lengths get 400 with a message.
/// </summary>
internal static class ServeHost
{
    public static async Task<int> RunAsync(string modelPath, string urls, int poolSize, CancellationToken cancellationToken)
    {
        using var service = new ModelService(modelPath, poolSize);
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseUrls(urls);
        builder.Logging.ClearProviders();
        builder.Services.Configure<JsonOptions>(o =>
        {
            // A score may be NaN when the model itself produces it; say so rather than failing the answer.
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
        });
        await using var app = builder.Build();
        app.MapGet("/health", () => Results.Json(new { status = "ok" }));
        app.MapGet("/model", () => Results.Json(service.Describe()));
        app.MapPost("/predict", async (HttpRequest request) =>
        {
            JsonDocument document;
            try
            {
                document = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            }
            catch (JsonException e)
            {
                return Results.Json(new { error = $"The body is not valid JSON: {e.Message}" }, statusCode: StatusCodes.Status400BadRequest);
            }

            using (document)
            {
                try
                {
                    return Results.Json(service.Predict(document.RootElement));
                }
                catch (ServingRequestException e)
                {
                    return Results.Json(new { error = e.Message }, statusCode: StatusCodes.Status400BadRequest);
                }
            }
        });

        await app.StartAsync(cancellationToken);
        // The bound addresses (a port of 0 is resolved here); tests read this line to find the service.
        foreach (var url in app.Urls)
        {
            Console.WriteLine($"listening on {url}");
        }

        Console.WriteLine($"model {service.ModelPath}: {string.Join(", ", service.Inputs.Select(i => $"{i.Name}{(i.Required ? "" : "?")}"))} -> {string.Join(", ", service.Outputs.Select(o => o.Name))}; engine pool {service.PoolSize}");
        Console.Out.Flush();
        await app.WaitForShutdownAsync(cancellationToken);
        return 0;
    }
}
