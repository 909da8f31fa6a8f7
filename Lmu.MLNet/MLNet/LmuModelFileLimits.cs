namespace Lmu.MLNet;

/// <summary>
/// What <see cref="LmuModelFile.Load(Microsoft.ML.MLContext, string, out Microsoft.ML.DataViewSchema, out LmuModelIntegrity, LmuModelFileLimits?)"/>
/// accepts, checked in the zip's central directory before anything is extracted: ML.NET reads a carried ONNX entry
/// whole into memory and copies it to a temp file, so a small zip declaring a huge entry would otherwise cost that
/// much memory and disk. The defaults are far above any model this library writes (psMNIST's models carry graphs of
/// 0.7-7.6 MB; a recurrent layer's blocks write at most 32 MB of constants) and far below what hurts a server.
/// </summary>
public sealed record LmuModelFileLimits
{
    /// <summary>The defaults.</summary>
    public static LmuModelFileLimits Default { get; } = new();

    /// <summary>Largest uncompressed size of one entry, in bytes. Default 512 MiB.</summary>
    public long MaxEntryBytes { get; init; } = 512L << 20;

    /// <summary>Largest uncompressed size of all entries together, in bytes. Default 1 GiB.</summary>
    public long MaxTotalBytes { get; init; } = 1L << 30;

    /// <summary>Most entries in the zip. Default 10,000 (a model has tens).</summary>
    public int MaxEntries { get; init; } = 10_000;

    /// <summary>
    /// Largest ratio of uncompressed to compressed size for an entry of at least <see cref="RatioCheckedFromBytes"/>.
    /// Default 100: float weights deflate by about 1.1; a ratio in the hundreds is a zip bomb's signature.
    /// </summary>
    public double MaxCompressionRatio { get; init; } = 100;

    /// <summary>Entries smaller than this are not held to <see cref="MaxCompressionRatio"/> (small text compresses well). Default 1 MiB.</summary>
    public long RatioCheckedFromBytes { get; init; } = 1L << 20;
}
