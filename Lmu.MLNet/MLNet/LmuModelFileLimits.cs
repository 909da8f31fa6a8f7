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

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the limit when one is not positive (or, for the ratio, not a finite
    /// number of at least 1). Why: a NaN ratio turned the zip-bomb check off without a word, and a negative limit
    /// refused every file with a message that blamed the file (API QA).
    /// </summary>
    internal void Validate()
    {
        static void Require(bool ok, string name, object value, string rule)
        {
            if (!ok)
            {
                throw new ArgumentException(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"LmuModelFileLimits.{name} = {value} {rule}."), "limits");
            }
        }

        Require(MaxEntryBytes > 0, nameof(MaxEntryBytes), MaxEntryBytes, "must be positive");
        Require(MaxTotalBytes > 0, nameof(MaxTotalBytes), MaxTotalBytes, "must be positive");
        Require(MaxEntries > 0, nameof(MaxEntries), MaxEntries, "must be positive");
        Require(double.IsFinite(MaxCompressionRatio) && MaxCompressionRatio >= 1, nameof(MaxCompressionRatio), MaxCompressionRatio, "must be a finite number of at least 1");
        Require(RatioCheckedFromBytes >= 0, nameof(RatioCheckedFromBytes), RatioCheckedFromBytes, "must be 0 or positive");
    }
}
