using Microsoft.ML;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Loads a saved model zip and scores CSV rows with it. Deliberately touches no TorchSharp type (nor any type whose
/// static constructor would), so it runs where the libtorch native libraries are absent; it reports whether any was
/// loaded into the process anyway.
/// </summary>
internal static class CsvScoring
{
    public static int Run(string modelPath, string inputPath, string outputPath, ClassifierColumns classifier, ForecastColumns forecast)
    {
        if (Directory.Exists(inputPath))
        {
            // QA: a folder was "Access to the path ... is denied".
            throw new IOException($"--input '{inputPath}' is a folder; give a file.");
        }

        Cli.SameFile.Refuse(inputPath, outputPath, "--input", "--output");
        // QA: --output naming the model replaced it with the scores, exit 0.
        Cli.SameFile.Refuse(modelPath, outputPath, "--model", "--output", "the model");
        // A run folder of its own: an interrupted predict left the model's graph copies in TMPDIR (serve QA).
        using var temp = new Cli.RunTempFolder();
        var ml = new MLContext { TempFilePath = temp.Folder };
        var model = LmuModelFile.Load(ml, modelPath, out var schema, out var integrity);
        Console.WriteLine(Integrity(integrity));
        try
        {
            if (schema is null)
            {
                throw new InvalidDataException(ModelService.NoInputSchema(modelPath, "predict"));
            }

            // A forecaster's zip has the window column and no features column: score it as forecast rows.
            return schema.GetColumnOrNull(classifier.Features) is null && schema.GetColumnOrNull(forecast.Window) is not null
                ? CsvForecastScoring.Run(ml, model, schema, inputPath, outputPath, forecast.Window, forecast.Covariates, forecast.Forecast)
                : CsvClassifierScoring.Run(ml, model, schema, inputPath, outputPath, classifier, forecast.Window);
        }
        finally
        {
            (model as IDisposable)?.Dispose();
        }
    }

    /// <summary>Says so on stderr when the input had no rows: the output then holds the header only (found by QA: silent).</summary>
    public static void NoteWhenEmpty(long rows, string inputPath, string outputPath)
    {
        if (rows == 0)
        {
            Console.Error.WriteLine($"note: {inputPath} has no rows, so {outputPath} holds the header only");
        }
    }

    /// <summary>One line saying what the load's integrity check found (shared by predict and serve).</summary>
    public static string Integrity(LmuModelIntegrity integrity) => integrity switch
    {
        LmuModelIntegrity.Verified => "model integrity: verified (SHA-256 of the carried ONNX graph)",
        LmuModelIntegrity.Unsealed => "model integrity: NOT verified (the zip was saved before graphs were sealed with a SHA-256, in 2026-12-03's versions or earlier; saving the loaded model again keeps its graphs as they are, unsealed: a model fitted again is saved sealed)",
        _ => "model integrity: the zip carries no ONNX graph to verify",
    };

    /// <summary>True when a libtorch/libc10/LibTorchSharp native library is mapped into this process (Linux only; false elsewhere).</summary>
    public static bool TorchNativeLoaded()
    {
        const string maps = "/proc/self/maps";
        if (!File.Exists(maps))
        {
            return false;
        }

        return File.ReadLines(maps).Any(l => l.Contains("libtorch", StringComparison.Ordinal) || l.Contains("libc10", StringComparison.Ordinal)
                                              || l.Contains("LibTorchSharp", StringComparison.Ordinal));
    }

    /// <summary>Column names used when the zip holds a classifier.</summary>
    /// <param name="Features">The features column (Vector&lt;Single, T x C&gt;).</param>
    /// <param name="Length">The sequence-length column; null = the one the model's ONNX scorer reads, if any.</param>
    /// <param name="Channels">Channels C the classifier was trained with; T = features width / C bounds each row's length.</param>
    public sealed record ClassifierColumns(string Features, string? Length, int Channels);

    /// <summary>Column names used when the zip holds a forecaster.</summary>
    public sealed record ForecastColumns(string Window, IReadOnlyList<string> Covariates, string Forecast);
}
