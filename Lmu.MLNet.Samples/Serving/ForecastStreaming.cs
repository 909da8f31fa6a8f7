using System.Globalization;
using Lmu.MLNet.Forecasting;
using Microsoft.ML;

namespace Lmu.MLNet.Samples.Serving;

/// <summary>
/// Resumes a streaming forecast engine from its checkpoint, feeds it CSV observations, writes one forecast line per
/// observation and checkpoints the final state. The engine is managed code only: no libtorch, and no ONNX Runtime except
/// to read a model zip carrying an engine (a forecaster's zip, or one written by the typed engine's CheckPoint(mlContext, path); then the checkpoint is such a zip too).
/// </summary>
internal static class ForecastStreaming
{
    public static int Run(string modelPath, string observationsPath, string? outputPath, string? checkpointPath)
    {
        // ONNX Runtime only reads a model zip: then a run folder of its own for the graph copies (serve QA: interrupted
        // runs left them in TMPDIR).
        using var temp = IsZip(modelPath) ? new Cli.RunTempFolder() : null;
        MLContext Context() => new() { TempFilePath = temp?.Folder ?? Path.GetTempPath() };
        LmuForecastEngine engine;
        string? seriesColumn = null;
        var fromZip = IsZip(modelPath);
        if (fromZip)
        {
            // A forecaster's zip (fitted with 0.4.0 or later) carries a start-of-stream engine, a typed engine's
            // CheckPoint zip its stream; older forecasters' zips carry none.
            (engine, seriesColumn) = LmuForecastTimeSeriesEngine.TryLoadEngine(Context(), modelPath) ?? throw new InvalidDataException(
                LmuForecastTimeSeriesEngine.NoState($"'{modelPath}'") +
                " An engine checkpoint (transformer.CreateEngine().CheckPoint(path)) starts one too; lmu forecast writes stream.engine beside its model.zip.");
        }
        else
        {
            engine = LmuForecastEngine.Load(modelPath);
        }

        var resumedAt = engine.ObservationCount;
        var width = 1 + engine.CovariateNames.Count;
        if (outputPath is not null)
        {
            Cli.SameFile.Refuse(observationsPath, outputPath, "--observations", "--output");
            // QA: each of these was written over without a word, exit 0 (the checkpoint may replace --model: that is
            // how a stream moves on).
            Cli.SameFile.Refuse(modelPath, outputPath, "--model", "--output", "the engine being resumed");
        }

        if (checkpointPath is not null)
        {
            Cli.SameFile.Refuse(observationsPath, checkpointPath, "--observations", "--checkpoint");
            if (outputPath is not null)
            {
                Cli.SameFile.Refuse(outputPath, checkpointPath, "--output", "--checkpoint", "the forecasts written there");
            }
        }

        if (checkpointPath is not null)
        {
            Cli.PartialOutputFile.CheckWritable(checkpointPath, "--checkpoint");
            // A pipe or device is refused: the checkpoint is moved over it, which made it a file (files QA).
            Cli.PartialOutputFile.TargetFile(checkpointPath, "Could not write --checkpoint");
        }

        // All or nothing: a bad line leaves no output file (and no checkpoint). The checkpoint is written to a partial file
        // after the last line, before the output is moved into place, and moved over --checkpoint only once the output is
        // in place: a checkpoint that cannot be written leaves no output (QA: the forecasts were in place when it failed),
        // and an output that cannot be moved into place leaves the engine as it was (review: the checkpoint had moved on
        // while the forecasts were lost, so a rerun fed the readings twice).
        Cli.PartialFile? pending = null;
        string? checkpointFile = null;
        try
        {
            if (outputPath is null)
            {
                Stream(null);
                CheckPoint();
            }
            else
            {
                var checkpointNote = checkpointPath is null ? string.Empty : $"the checkpoint '{checkpointPath}' (the engine's state stays as it was)";
                Cli.PartialOutputFile.Write(outputPath, writer => Stream(writer) && CheckPoint(), checkpointNote);
            }

            if (pending is not null)
            {
                // Onto the file a link names, not the link (files QA: the link became a file, its target kept the old
                // state), keeping the replaced file's mode and owner (QA: 0600 came back 0644).
                Cli.PartialOutputFile.KeepModeAndOwner(pending.Path, checkpointFile!);
                File.Move(pending.Path, checkpointFile!, overwrite: true);
            }
        }
        finally
        {
            pending?.Dispose();
        }

        // A semicolon-separated or decimal-comma file failed with .NET's bare "The input string '9248;2' was not in a
        // correct format", naming neither file nor line (found by QA).
        float Number(string field, int line, int index)
        {
            if (float.TryParse(field, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && float.IsFinite(value))
            {
                return value;
            }

            // NaN, infinities and values past float32's range reached the engine, whose message named neither file nor
            // line (QA).
            var hint = field.Contains(';') ? " (fields are separated by commas and decimals written with a point)"
                // QA: '"1,000",1' read as '"1' and '000"': fields are split at every comma, quotes included.
                : field.Contains('"') ? " (fields are split at every comma and quotes are not read: write plain numbers without thousands separators)"
                : string.Empty;
            var what = float.IsNaN(value) || float.IsInfinity(value) ? "is not a finite number (or lies beyond float32's range)" : "is not a number";
            throw new InvalidDataException($"{observationsPath} line {line}, value {index + 1}: '{field.Trim()}' {what}{hint}.");
        }

        bool Stream(TextWriter? writer)
        {
            var line = 0;
            var blank = 0;
            foreach (var text in Lmu.MLNet.Data.StrictTextLines.Read(observationsPath))
            {
                line++;
                if (text.Trim().Length == 0)
                {
                    blank = blank == 0 ? line : blank;
                    continue;
                }

                if (blank > 0)
                {
                    // Blank lines at the end are the file's end; one between observations may stand for a missing
                    // observation, and skipping it shifted every later one by a step (QA).
                    throw new InvalidDataException(
                        $"{observationsPath} line {blank} is empty, between observations: each line is one observation, in order; fill in the missing one or remove the line.");
                }

                var values = text.Split(',').Select((v, i) => Number(v, line, i)).ToArray();
                if (values.Length != width)
                {
                    var names = string.Join(", ", ["value", .. engine.CovariateNames]);
                    // QA: "1,5" (a decimal comma) read as two values, with no word of why.
                    var comma = values.Length > width ? " If ',' is a decimal comma in this file, write decimals with '.' ('1.5', not '1,5')." : string.Empty;
                    throw new InvalidDataException($"{observationsPath} line {line}: {values.Length} values; the engine expects {width} ({names}).{comma}");
                }

                var forecast = engine.Observe(values[0], values.AsSpan(1));
                // The observation count, then the forecast in "R" format (round-trips float32 exactly); no forecast
                // until the window is full.
                var fields = new List<string> { engine.ObservationCount.ToString(CultureInfo.InvariantCulture) };
                if (forecast is not null)
                {
                    fields.AddRange(forecast.Forecast.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));
                }

                writer?.WriteLine(string.Join(',', fields));
            }

            return true;
        }

        bool CheckPoint()
        {
            if (checkpointPath is null)
            {
                return true;
            }

            checkpointFile = Cli.PartialOutputFile.TargetFile(checkpointPath, "Could not write --checkpoint");
            var (folder, name, extension) = (Path.GetDirectoryName(checkpointFile)!, Path.GetFileNameWithoutExtension(checkpointFile), Path.GetExtension(checkpointFile));
            pending = Cli.PartialOutputFile.Open(folder, name, extension, checkpointPath);
            try
            {
                if (fromZip)
                {
                    // Resumed from a model zip: the checkpoint is such a zip too (a window-layout model's records no series column).
                    ForecastEngineStateOnnx.Save(Context(), engine, seriesColumn, pending.Path);
                }
                else
                {
                    engine.CheckPoint(pending.Path);
                }
            }
            catch (IOException e) when (e.Message.Contains(pending.Path, StringComparison.Ordinal))
            {
                // A full disk named the hidden partial file (files QA).
                throw new IOException($"Could not write --checkpoint '{checkpointPath}': {e.Message.Replace(pending.Path, checkpointFile, StringComparison.Ordinal).Replace($"Could not write '{checkpointFile}': ", string.Empty, StringComparison.Ordinal)}", e);
            }

            return true;
        }

        Console.WriteLine($"resumed at observation {resumedAt}, now at {engine.ObservationCount}{(checkpointPath is null ? string.Empty : $"; checkpoint {checkpointPath}")}");
        Console.WriteLine($"model fingerprint: {engine.ModelFingerprint}");
        Console.WriteLine($"libtorch loaded: {(CsvScoring.TorchNativeLoaded() ? "yes" : "no")}");
        return 0;
    }

    private static bool IsZip(string path)
    {
        if (!File.Exists(path))
        {
            // Files QA: a folder was said not to exist.
            throw Directory.Exists(path)
                ? new FileNotFoundException($"--model '{path}' is a folder: pass an engine checkpoint or a model zip carrying an engine.", path)
                : new FileNotFoundException($"The engine checkpoint '{path}' does not exist.", path);
        }

        EmptyModelFile.Refuse(path, "--model", "pass an engine checkpoint or a model zip carrying an engine");
        using var stream = File.OpenRead(path);
        return stream.ReadByte() == 'P' && stream.ReadByte() == 'K';
    }
}
