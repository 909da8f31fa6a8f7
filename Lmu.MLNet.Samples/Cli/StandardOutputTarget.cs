namespace Lmu.MLNet.Samples.Cli;

/// <summary>
/// An output file that is the process's standard output (<c>--output -</c>, <c>/dev/stdout</c>, <c>/dev/fd/1</c>,
/// <c>/proc/self/fd/1</c>). QA: <c>predict --output /dev/stdout &gt; out.csv</c> opened the file a second time at offset 0
/// while the app's own lines went through the first handle, so each overwrote the other (a header cut in two, 50 forecast
/// lines lost, exit 0); into a pipe the app's lines were mixed into the CSV. So: the CSV goes through the standard output
/// stream itself (the shell's redirection, append included, as it set it up), and the app's own lines go to standard
/// error for the whole run.
/// </summary>
internal static class StandardOutputTarget
{
    private static readonly string[] Names = ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];

    /// <summary>True when <paramref name="path"/> names standard output.</summary>
    public static bool Is(string? path) => path is not null && Names.Contains(path.Trim(), StringComparer.Ordinal);

    /// <summary>
    /// When the command line of <c>predict</c> or <c>forecast-stream</c> names standard output as <c>--output</c>, the app's
    /// own lines go to standard error from now on. Called before any command runs: the lines before the CSV (warnings,
    /// integrity) would otherwise precede it. <paramref name="args"/> are the parser's tokens, a response file's
    /// (<c>@file</c>) included.
    /// </summary>
    public static void RouteConsoleIfNamed(IReadOnlyList<string> args)
    {
        if (Named(args))
        {
            Console.SetOut(Console.Error);
        }
    }

    /// <summary>Whether <paramref name="args"/> run predict or forecast-stream with standard output as <c>--output</c>.</summary>
    internal static bool Named(IReadOnlyList<string> args)
    {
        // Only the commands whose --output is a file: the others' is a folder, and "-" there is a folder's name (review:
        // forecast --output - sent every line of the run to standard error).
        if (args.FirstOrDefault(a => !a.StartsWith('-')) is not ("predict" or "forecast-stream"))
        {
            return false;
        }

        for (var i = 0; i < args.Count; i++)
        {
            // --output v, --output=v and --output:v, as the command line parser takes them (review: ':' was missed).
            var value = args[i] == "--output" && i + 1 < args.Count ? args[i + 1]
                : args[i].StartsWith("--output=", StringComparison.Ordinal) || args[i].StartsWith("--output:", StringComparison.Ordinal) ? args[i]["--output=".Length..]
                : null;
            if (Is(value))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A writer of the standard output stream that flushes each line (a reader of a pipe sees each forecast as it is made).</summary>
    public static TextWriter Open() =>
        new LineFlushingWriter(new StreamWriter(Console.OpenStandardOutput(), new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), bufferSize: 1 << 16, leaveOpen: true));
}
