using System.Reflection;
using Lmu.MLNet.Onnx;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;

namespace Lmu.MLNet;

/// <summary>
/// Wraps ONNX bytes as an ML.NET <see cref="TransformerChain{TLastTransformer}"/> scored by ML.NET's own
/// OnnxTransformer, so that <c>mlContext.Model.Save/Load</c> persist it with no type of ours in the zip (older
/// classifier zips hold the stateless CustomMapping factory <see cref="SingleSlotTextMappingFactory"/>, kept for them).
/// </summary>
/// <remarks>
/// Leak-free recipe (see Lmu.MLNet/Design/persistence.md): <c>ApplyOnnxModel(Stream)</c> leaves a temp file per call, so we
/// write our own temp file, fit with the file overload, round-trip the fitted chain through Model.Save/Model.Load on
/// a MemoryStream, dispose the fitted chain, delete our file and keep the loaded chain (which owns a delete-on-close
/// copy). What we return is then exactly what a user gets after Model.Load.
/// </remarks>
internal static class OnnxCarrier
{
    /// <summary>ONNX output (string [1]) the multiclass chain read the predicted class from in older zips (CustomMapping).</summary>
    public const string PredictedClassColumn = "lmu.PredictedClass";

    /// <summary>Intermediate scalar text column (dropped from the final schema).</summary>
    public const string PredictedValueColumn = "lmu.PredictedClassValue";

    /// <summary>
    /// A context of its own for a carrier (the user's GpuDeviceId would ask ONNX Runtime's CPU package for CUDA), writing
    /// its temp files where the user's context does: a featurizer's or ridge's graph copy went to the system temp folder
    /// whatever MLContext.TempFilePath said. Null: the system temp folder.
    /// </summary>
    public static MLContext Context(string? tempFolder) => tempFolder is null ? new MLContext() : new MLContext { TempFilePath = tempFolder };

    /// <summary>Chain scoring <paramref name="onnxModel"/>, optionally followed by <paramref name="postProcessing"/>.</summary>
    /// <param name="ml">Context whose TempFilePath, GPU settings and catalog are used.</param>
    /// <param name="onnxModel">Model bytes; ONNX input/output names are the ML.NET column names.</param>
    /// <param name="input">Data with the input columns (only its schema is used).</param>
    /// <param name="inputColumns">ONNX inputs to feed.</param>
    /// <param name="outputColumns">ONNX outputs to expose as columns.</param>
    /// <param name="postProcessing">Estimators appended after the ONNX scorer; they must not need rows to fit.</param>
    /// <param name="postProcessingGraphs">The bytes of ONNX graphs <paramref name="postProcessing"/> applies, so that a failed carry's sweep knows their copies too.</param>
    public static TransformerChain<ITransformer> Create(
        MLContext ml,
        byte[] onnxModel,
        IDataView input,
        IReadOnlyList<string> inputColumns,
        IReadOnlyList<string> outputColumns,
        IEstimator<ITransformer>? postProcessing = null,
        IReadOnlyList<byte[]>? postProcessingGraphs = null)
    {
        OnnxLoadFormat.Ensure(ml);
        var path = Path.Combine(TempFolder(ml), $"lmu-{Guid.NewGuid():N}.onnx");
        using var sweep = TempFileSweep.Since(ml.TempFilePath, [onnxModel, .. postProcessingGraphs ?? []]);
        try
        {
            WriteGraph(path, onnxModel);
            // Always an EstimatorChain: a lone OnnxScoringEstimator would fit, save and load as a bare OnnxTransformer.
            IEstimator<ITransformer> estimator = new EstimatorChain<ITransformer>()
                .Append(ml.Transforms.ApplyOnnxModel(outputColumns.ToArray(), inputColumns.ToArray(), path));
            if (postProcessing is not null)
            {
                estimator = estimator.Append(postProcessing);
            }

            using var stream = new MemoryStream();
            // Nothing in the chain reads rows when fitting (the ONNX scorer and pre-specified key data only need the
            // schema), so fitting on the caller's data costs no pass over it.
            var fitted = estimator.Fit(input);
            try
            {
                ml.Model.Save(fitted, input.Schema, stream);
            }
            finally
            {
                // Releases the ONNX session that holds our file before the file is deleted.
                (fitted as IDisposable)?.Dispose();
            }

            stream.Position = 0;
            return (TransformerChain<ITransformer>)ml.Model.Load(stream, out _);
        }
        catch (Exception e) when (Innermost(e) is IOException io)
        {
            // A full temp disk fails ML.NET's save or load midway, and the ml_dotnet_* folder it had begun stayed until a
            // garbage collection ran its finalizer (found by QA: one per failed Fit), keeping the disk full. The load
            // reports it wrapped in three TargetInvocationExceptions: the IOException itself is the one to see.
            sweep.Sweep();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(io);
            throw;
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// The context's TempFilePath, created when missing as ML.NET's own Model.Load creates it (a TMPDIR naming a folder
    /// that does not exist failed every Fit with "Could not find a part of the path '…/lmu-….onnx'"; found by QA). When it
    /// cannot be created the error names the setting.
    /// </summary>
    internal static string TempFolder(MLContext ml)
    {
        var folder = ml.TempFilePath;
        try
        {
            Directory.CreateDirectory(folder);
            return folder;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new IOException(
                $"MLContext.TempFilePath '{folder}' does not exist and could not be created ({e.Message}). Set MLContext.TempFilePath " +
                "(TMPDIR for the default) to a writable folder.",
                e);
        }
    }

    /// <summary>EMFILE: on Unix .NET puts the errno (24) in the HResult; on Windows ERROR_TOO_MANY_OPEN_FILES (4); or the C library's words.</summary>
    internal static bool TooManyOpenFiles(Exception e) =>
        e.HResult == (OperatingSystem.IsWindows() ? unchecked((int)0x80070004) : 24) || e.Message.Contains("Too many open files", StringComparison.Ordinal);

    /// <summary>The graph's temp copy; a full disk is named as the temp folder's (QA: "No space left on device : '…/lmu-….onnx'").</summary>
    internal static void WriteGraph(string path, byte[] onnxModel)
    {
        try
        {
            File.WriteAllBytes(path, onnxModel);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(path);
            var folder = Path.GetDirectoryName(path);
            throw new IOException(
                $"Could not write the fitted model's ONNX graph ({onnxModel.Length:N0} bytes) into MLContext.TempFilePath '{folder}' ({e.Message.Replace(path, folder, StringComparison.Ordinal).TrimEnd('.')}). " +
                "Set MLContext.TempFilePath (TMPDIR for the default) to a writable folder with free space.",
                e);
        }
    }

    /// <summary>
    /// Throws <see cref="ArgumentOutOfRangeException"/> for a column name that ML.NET's OnnxTransformer skips among a
    /// graph's inputs and outputs: "mlnet." ... ".unusedInput" or ".unusedOutput", the names ML.NET's own ONNX export gives
    /// values nothing reads. A model whose graph reads or writes such a column cannot be carried: the featurizers and the
    /// classifier failed with "Index was outside the bounds of the array" in ML.NET's scorer, the classifier after its
    /// training (found by QA). Called before any training with every column name the graph would use.
    /// </summary>
    internal static void RefuseSkippedNames(string component, params (string Role, string? Name)[] columns)
    {
        foreach (var (role, name) in columns)
        {
            if (name is not null && name.StartsWith("mlnet.", StringComparison.Ordinal)
                && (name.EndsWith(".unusedInput", StringComparison.Ordinal) || name.EndsWith(".unusedOutput", StringComparison.Ordinal)))
            {
                // No parameter name: the message names the column, and "(Parameter 'columns')" named none of the caller's.
                throw new ArgumentOutOfRangeException(
                    paramName: null,
                    $"{component}: the {role} column '{name}' has a name ML.NET's OnnxTransformer skips (mlnet.*.unusedInput and mlnet.*.unusedOutput mark values nothing reads in ML.NET's ONNX export), and the fitted model is carried by an OnnxTransformer; rename the column (mlContext.Transforms.CopyColumns).");
            }
        }
    }

    /// <summary>
    /// Throws <see cref="IOException"/> naming the setting when <paramref name="folder"/> cannot be created or a file
    /// cannot be created in it (read-only, no permission); a full disk shows only when the graph is written.
    /// </summary>
    internal static void ProbeTempFolder(string folder)
    {
        var probe = Path.Combine(TempFolder(new MLContext { TempFilePath = folder }), $"lmu-probe-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException(
                $"MLContext.TempFilePath '{folder}' cannot be written ({e.Message.Replace(probe, folder, StringComparison.Ordinal)}); the fitted model's ONNX graph " +
                "is written there. Set MLContext.TempFilePath (TMPDIR for the default) to a writable folder.",
                e);
        }
    }

    /// <summary>True when <paramref name="cause"/> names a path inside <paramref name="tempFolder"/> (an extracted entry).</summary>
    private static bool TempFolderFault(string tempFolder, Exception cause)
    {
        var full = Path.GetFullPath(tempFolder);
        return cause.Message.Contains(full, StringComparison.Ordinal)
               || cause.Message.Contains(tempFolder, StringComparison.Ordinal)
               || cause.Message.Contains(Path.TrimEndingDirectorySeparator(full), StringComparison.Ordinal);
    }

    /// <summary>
    /// Whether <paramref name="cause"/> is a failure to read the zip itself rather than a fault in it: an IOException of
    /// the base type (a zip's faults are InvalidDataException or EndOfStreamException) that names the file.
    /// </summary>
    internal static bool ReadFault(string path, Exception cause) =>
        cause.GetType() == typeof(IOException)
        && (cause.Message.Contains(path, StringComparison.Ordinal) || cause.Message.Contains(Path.GetFullPath(path), StringComparison.Ordinal));

    // Whether a file can be made in the folder now (it exists and can be written).
    private static bool TempFolderWritable(string tempFolder)
    {
        try
        {
            using (new FileStream(Path.Combine(tempFolder, $".lmu-probe-{Environment.ProcessId}-{Guid.NewGuid():N}"), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose))
            {
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return false;
        }
    }

    private static Exception Innermost(Exception e)
    {
        while (e is TargetInvocationException { InnerException: { } inner })
        {
            e = inner;
        }

        return e;
    }

    /// <summary>
    /// Multiclass chain with native ML.NET outputs: <paramref name="scoreColumn"/> Vector&lt;Single, K&gt; with SlotNames
    /// = <paramref name="classNames"/>, and <paramref name="predictedLabelColumn"/> a scalar key whose KeyValues are
    /// <paramref name="classNames"/> in key order. The model must have been exported with
    /// <see cref="MulticlassExportOptions"/>.
    /// </summary>
    public static TransformerChain<ITransformer> CreateMulticlass(
        MLContext ml,
        byte[] onnxModel,
        IDataView input,
        IReadOnlyList<string> inputColumns,
        IReadOnlyList<string> classNames,
        string scoreColumn = "Score",
        string predictedLabelColumn = "PredictedLabel")
    {
        // ML.NET's own transforms only (no CustomMapping), so the zip loads without Lmu.MLNet.dll; see SlotToScalarKey.
        var post = Classification.SlotToScalarKey.Create(ml, classNames, predictedLabelColumn);
        return Create(ml, onnxModel, input, inputColumns, [scoreColumn, Classification.SlotToScalarKey.IndexColumn], post);
    }

    /// <summary>
    /// Export options for <see cref="CreateMulticlass"/>: the row layout (no batch axis, because OnnxTransformer scores
    /// one row per run and would type an [N, K] output as Vector&lt;Single, 1, K&gt;), the score and the predicted class index.
    /// </summary>
    public static LmuOnnxExportOptions MulticlassExportOptions(string inputColumn, IReadOnlyList<string> classNames, string scoreColumn = "Score") =>
        new()
        {
            InputName = inputColumn,
            BatchAxis = false,
            RawOutputName = null,
            Classifier = new LmuOnnxClassifierOutputs { ClassNames = classNames, ScoreName = scoreColumn, PredictedIndexName = Classification.SlotToScalarKey.IndexColumn },
        };

    /// <summary>
    /// <c>mlContext.Model.Load</c> of a model zip, with a message naming the file when it is missing, truncated or
    /// not an ML.NET model.
    /// </summary>
    public static ITransformer Load(MLContext ml, string path, out DataViewSchema inputSchema) =>
        Load(ml, path, LmuModelFileLimits.Default, out inputSchema, out _);

    /// <summary>
    /// <c>mlContext.Model.Load</c> of a model zip after <see cref="ModelZipCheck"/> (sizes within
    /// <paramref name="limits"/>, carried graphs matching their seals); any failure is an
    /// <see cref="InvalidDataException"/> naming the file, and a failed load leaves nothing in MLContext.TempFilePath.
    /// </summary>
    public static ITransformer Load(MLContext ml, string path, LmuModelFileLimits limits, out DataViewSchema inputSchema, out LmuModelIntegrity integrity)
    {
        (integrity, var graphs) = ModelZipCheck.Run(path, limits);
        OnnxLoadFormat.Ensure(ml);
        using var sweep = TempFileSweep.Before(ml.TempFilePath, graphs);
        try
        {
            return ml.Model.Load(path, out inputSchema);
        }
        catch (Exception e) when (e is InvalidOperationException or InvalidDataException or IOException or FormatException
                                      or ArgumentException or NotSupportedException or TargetInvocationException
                                      or OnnxRuntimeException or UnauthorizedAccessException)
        {
            sweep.Sweep(e);
            // ML.NET calls each transformer's loader by reflection: the useful message is the innermost one.
            var cause = e;
            while (cause is TargetInvocationException { InnerException: { } inner })
            {
                cause = inner;
            }

            if (cause is EntryPointNotFoundException && ml.GpuDeviceId is { } gpu)
            {
                // The file is fine: the context asked ONNX Runtime's CPU package for its CUDA provider, which it lacks, and
                // ML.NET's FallbackToCpu catches only ONNX Runtime's own errors, not this one (it read as an
                // incompatible model zip).
                throw new InvalidOperationException(
                    $"Could not load '{path}' on MLContext.GpuDeviceId = {gpu}: the ONNX Runtime package here has no CUDA provider ({cause.Message}), " +
                    "and ML.NET's FallbackToCpu does not catch that. Load it with a context whose GpuDeviceId is null (the CPU), or reference the " +
                    "GPU build of ONNX Runtime.",
                    e);
            }

            if (ReadFault(path, cause))
            {
                // The file could not be read now (another process holds it, as a copy over it does): no verdict on the zip.
                // One such load in about 12,000 read as a bad model file (found by QA), which a service would reject.
                // Before the temp-folder check: a zip kept under the temp folder is still the zip (review).
                throw new IOException($"Could not load '{path}': reading it failed ({cause.Message}); the file itself was not found faulty. Load it again once nothing else holds it.", cause);
            }

            // A temp folder that is missing and cannot be made, or cannot be written, fails as UnauthorizedAccessException
            // naming a folder above it ("Access to the path '/nonexistent' is denied"), which is no IOException: it went
            // past a service's catch raw (found by QA). The probe tells it from a zip's own fault.
            if (cause is IOException or UnauthorizedAccessException && (TempFolderFault(ml.TempFilePath, cause) || !TempFolderWritable(ml.TempFilePath)))
            {
                // The zip passed its checks: writing its entries out to the temp folder failed (full, read-only). It read
                // as a bad model file, which a service would reject rather than fix its disk (found by QA).
                throw new IOException(
                    $"Could not load '{path}': extracting it into MLContext.TempFilePath '{ml.TempFilePath}' failed ({cause.Message}). " +
                    (TooManyOpenFiles(cause)
                        // Limits QA: the advice spoke of free space when the process had run out of file descriptors.
                        ? "The process has run out of open files: dispose models no longer used, or raise its open-files limit (ulimit -n, a container's nofile ulimit)."
                        : "Free space there, or set MLContext.TempFilePath (TMPDIR for the default) to a writable folder with room."),
                    cause);
            }

            throw ModelZipCheck.Refuse(path, $"ML.NET could not load it ({cause.GetType().Name}: {cause.Message})", "pass a model zip saved with mlContext.Model.Save by this library's version or a compatible one", e);
        }
        catch
        {
            sweep.Sweep();
            throw;
        }
    }
}
