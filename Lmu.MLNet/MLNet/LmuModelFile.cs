using Lmu.MLNet.Classification;
using Lmu.MLNet.Scoring;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet;

/// <summary>Saving and loading LMU models safely, with clear errors. Touches no TorchSharp type, so it runs without libtorch.</summary>
public static class LmuModelFile
{
    /// <summary>
    /// <c>mlContext.Model.Save(model, inputSchema, path)</c>, but atomic: the zip is written to a temp file beside
    /// <paramref name="path"/>, flushed to disk, then moved over it. ML.NET's own Save writes in place, so a save that
    /// fails half-way (a full disk) leaves a partial zip there, or destroys the good model it was replacing; here the
    /// old file stays as it was and no partial file is left.
    /// </summary>
    /// <param name="mlContext">The context the model was made in.</param>
    /// <param name="model">The fitted pipeline.</param>
    /// <param name="inputSchema">The schema of the data the pipeline reads (<c>data.Schema</c>); null saves none.</param>
    /// <param name="path">Where the zip goes (replaced if it exists).</param>
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema? inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (inputSchema is not null)
        {
            // The zip would advertise a schema its model cannot score (a forecaster saved with its series layout rather
            // than the window layout, say), and loading it would fail only when scoring (found by QA).
            try
            {
                model.GetOutputSchema(inputSchema);
            }
            catch (Exception e) when (e is (ArgumentException or InvalidOperationException) and not ObjectDisposedException)
            {
                // The inner message without its own "(Parameter '...')": this exception appends its own (QA: both showed).
                var inner = e is ArgumentException { ParamName: { } name } ? e.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal) : e.Message;
                throw new ArgumentException(
                    $"The model cannot score the input schema given to Save ({string.Join(", ", inputSchema.Where(c => !c.IsHidden).Select(c => $"{c.Name}: {c.Type}"))}): {inner} " +
                    "Pass the schema of the data the model reads (for a forecaster fitted on a series, the window layout of LmuForecastWindows).",
                    nameof(inputSchema),
                    e);
            }

            // A forecaster reads series rows as windows in its own Transform, but the zip holds only the carried graph,
            // which scores windows: the series schema would be saved and fail at scoring (found by QA).
            var flowing = inputSchema;
            foreach (var element in TransformerElements.Of(model))
            {
                if (element is Forecasting.LmuForecastTransformer forecaster && forecaster.ReadsSeries(flowing))
                {
                    throw new ArgumentException(
                        $"The saved model cannot score the input schema given to Save ({string.Join(", ", inputSchema.Where(c => !c.IsHidden).Select(c => $"{c.Name}: {c.Type}"))}): " +
                        $"the forecaster reads series rows ('{forecaster.Info.SeriesColumnName}', one value per row) only in the fitted model's Transform; the zip scores " +
                        $"windows ('{forecaster.Info.WindowColumnName}', Vector<Single, {forecaster.Info.WindowSize}>, and each covariate's window). " +
                        "Pass the schema of the window layout (LmuForecastWindows.LastWindows or FromSeries).",
                        nameof(inputSchema));
                }

                flowing = element.GetOutputSchema(flowing);
            }

            // A classifier trained on a VarVector column pads such rows in its own Transform, but the zip holds only the
            // carried graph, which takes the fixed size: that schema would be saved and fail at scoring (found by review).
            foreach (var classifier in TransformerElements.Of(model).OfType<LmuClassifierTransformer>())
            {
                if (inputSchema.GetColumnOrNull(classifier.Info.FeatureColumnName)?.Type is VectorDataViewType { IsKnownSize: false })
                {
                    throw new ArgumentException(
                        $"The input schema's features column '{classifier.Info.FeatureColumnName}' is a VarVector<Single>; the saved model scores fixed-size " +
                        $"Vector<Single, {classifier.Info.SequenceLength * classifier.Info.Channels}> rows. Pass the schema of rows padded to that size (as Transform pads them).",
                        nameof(inputSchema));
                }
            }
        }

        AtomicFile.Write(path, stream => mlContext.Model.Save(model, inputSchema, stream));
    }

    /// <summary>
    /// <c>mlContext.Model.Load(path)</c>, but a truncated, corrupted or oversized file raises
    /// <see cref="InvalidDataException"/> naming the file instead of ML.NET's internal error (a missing file or a folder
    /// raises <see cref="FileNotFoundException"/>). The result is ML.NET's own
    /// TransformerChain of the zip's transformers, each ONNX scorer behind a guard; score it with <c>Transform</c> or
    /// PredictionEngines created with <c>OwnsTransformer = false</c>, and dispose it once, when scoring is over.
    /// Disposing it while other threads score is safe: running calls finish, later ones throw
    /// <see cref="ObjectDisposedException"/>, and the ONNX Runtime sessions are released after the last call returns
    /// and the last open cursor is disposed (a model from plain <c>mlContext.Model.Load</c> frees them at once, under
    /// running calls). Checks as
    /// <see cref="Load(MLContext, string, out DataViewSchema, out LmuModelIntegrity, LmuModelFileLimits?)"/> with the
    /// default limits.
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>, or a folder.</exception>
    /// <exception cref="InvalidDataException">The file is not a model zip, is damaged, exceeds the default limits, or ML.NET cannot load it; the message names it.</exception>
    public static ITransformer Load(MLContext mlContext, string path, out DataViewSchema inputSchema) =>
        Load(mlContext, path, out inputSchema, out _);

    /// <summary>
    /// Loads a model zip after checking it: entry sizes and compression ratios from the zip's central directory against
    /// <paramref name="limits"/> (before anything is extracted), then each carried ONNX graph against the SHA-256 written
    /// into it at save. A refusal or a failed load raises <see cref="InvalidDataException"/> naming the file and leaves
    /// no temp file in <c>mlContext.TempFilePath</c>; a context whose <c>GpuDeviceId</c> asks ONNX Runtime's CPU package
    /// for CUDA raises <see cref="InvalidOperationException"/> saying so (the file is fine). When the context has no ONNX session options yet and no
    /// <c>GpuDeviceId</c>, this sets options that make ONNX Runtime read every carried graph as ONNX (ML.NET's random
    /// temp name ends ".ort" in one load of 32,768, which ONNX Runtime would otherwise read as ORT format and refuse);
    /// ML.NET then builds every ONNX session of that context from them. Options you set are used as they are.
    /// </summary>
    /// <param name="mlContext">The context the model is loaded into.</param>
    /// <param name="path">The zip written by <c>mlContext.Model.Save</c>.</param>
    /// <param name="inputSchema">
    /// The input schema saved with the model; null (as ML.NET's Model.Load gives it, whose signature this one keeps, so
    /// that callers compile as before) for a zip saved without one, <c>Model.Save(model, null, path)</c>.
    /// </param>
    /// <param name="integrity">
    /// <see cref="LmuModelIntegrity.Verified"/>, or <see cref="LmuModelIntegrity.Unsealed"/> for a model saved before
    /// seals were written (it loads, unverified), or <see cref="LmuModelIntegrity.NoGraph"/>.
    /// </param>
    /// <param name="limits">Size limits; null takes <see cref="LmuModelFileLimits.Default"/>.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>, or a folder.</exception>
    /// <exception cref="InvalidDataException">The file is not a model zip, is damaged, exceeds <paramref name="limits"/>, or ML.NET cannot load it; the message names it.</exception>
    /// <exception cref="ArgumentException">A limit that is not positive (the ratio: not a finite number of at least 1).</exception>
    /// <exception cref="InvalidOperationException">The context's GpuDeviceId asks ONNX Runtime's CPU package for CUDA.</exception>
    public static ITransformer Load(MLContext mlContext, string path, out DataViewSchema inputSchema, out LmuModelIntegrity integrity, LmuModelFileLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrEmpty(path);
        (limits ?? LmuModelFileLimits.Default).Validate();
        if (!File.Exists(path))
        {
            throw Directory.Exists(path)
                ? new FileNotFoundException($"The model path '{path}' is a folder: pass the path of a zip written by mlContext.Model.Save.", path)
                : new FileNotFoundException($"The model file '{path}' does not exist: pass the path of a zip written by mlContext.Model.Save.", path);
        }

        return GuardedChain.Guard(OnnxCarrier.Load(mlContext, path, limits ?? LmuModelFileLimits.Default, out inputSchema, out integrity), $"a model loaded from '{path}'");
    }
}
