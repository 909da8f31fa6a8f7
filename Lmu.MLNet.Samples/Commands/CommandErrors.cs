using System.CommandLine;
using System.Globalization;
using System.Numerics;
using System.CommandLine.Help;
using System.Reflection;
using Lmu.MLNet.Samples.Cli;

namespace Lmu.MLNet.Samples.Commands;

/// <summary>
/// How every command of the app fails: one line on stderr (what went wrong and where, as the exception's message
/// says it, and what to do) and exit code 2; the stack trace only with <c>--verbose</c>. A command line that does not
/// parse fails the same way, pointing at the command's <c>--help</c>.
/// </summary>
internal static class CommandErrors
{
    /// <summary>The exit code of every failure (bad command line, bad input, failed run).</summary>
    public const int ExitCode = 2;

    /// <summary>
    /// The largest <c>--budget</c>, seconds (115 days): 1e12 overflowed the library's TimeSpan after the data had loaded
    /// (found by QA).
    /// </summary>
    public const double MaxBudgetSeconds = 1e7;

    /// <summary>The <c>--verbose</c> option, given to every command.</summary>
    public static Option<bool> Verbose { get; } = new("--verbose") { Description = "On an error, print the stack trace too.", Recursive = true };

    /// <summary>
    /// Refuses a negative value when the command line is parsed, for options where 0 means "the default": a negative
    /// value was taken as 0 (`--epochs -1` trained the default 300 epochs, `--pool -3` gave 4 engines; found by QA).
    /// </summary>
    public static Option<int> NotNegative(this Option<int> option)
    {
        option.Validators.Add(result =>
        {
            if (Parsed<int>(result) is { } value && value < 0) result.AddError($"{option.Name} {value} must be 0 (its default) or positive");
        });
        return option;
    }

    /// <summary>
    /// Refuses, when the command line is parsed, a value outside (0, infinity) (<paramref name="lowest"/> = 0 allows 0)
    /// or at/above <paramref name="below"/>: otherwise the library's check names its own option (`--budget 0` failed
    /// with "TimeBudget must be positive", `--learning-rate -1` with "LearningRate ..."; found by QA).
    /// </summary>
    public static Option<double> Within(this Option<double> option, double lowest = double.Epsilon, double below = double.PositiveInfinity)
    {
        // Read in the invariant culture without thousands separators: the default parser read the current culture and
        // took separators, so `--learning-rate 0.002` trained at 2 under de-DE and `--learning-rate 0,002` at 2 under
        // en-US (found by QA).
        var defaults = option.DefaultValueFactory;
        option.CustomParser = result =>
        {
            if (result.Tokens.Count == 0)
            {
                return defaults is null ? 0 : defaults(result);
            }

            var token = result.Tokens[^1].Value;
            if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            result.AddError($"Cannot parse argument '{token}' for option '{option.Name}': write a number with a point for decimals and no thousands separators (0.002, 2e-3).");
            return 0;
        };
        option.Validators.Add(result =>
        {
            if (Parsed<double>(result) is not { } value)
            {
                return;
            }

            if (!(value >= lowest && value < below))
            {
                var range = lowest == 0 ? "0 or more" : "positive";
                result.AddError(FormattableString.Invariant($"{option.Name} {value} must be {range}{(double.IsPositiveInfinity(below) ? " (and finite)" : $" and below {below}")}"));
            }
        });
        return option;
    }

    /// <summary>Refuses, when the command line is parsed, a whole number outside [<paramref name="lowest"/>, <paramref name="highest"/>] (no upper bound when <paramref name="highest"/> is null).</summary>
    public static Option<T> Between<T>(this Option<T> option, T lowest, T? highest = null)
        where T : struct, INumber<T>
    {
        option.Validators.Add(result =>
        {
            if (Parsed<T>(result) is { } value && (value < lowest || (highest is { } h && value > h)))
            {
                result.AddError(highest is { } top
                    ? FormattableString.Invariant($"{option.Name} {value} must be from {lowest} to {top}")
                    : FormattableString.Invariant($"{option.Name} {value} must be at least {lowest}"));
            }
        });
        return option;
    }

    /// <summary>
    /// Refuses, when the command line is parsed, a value other than 0 (the default) or at least <paramref name="lowest"/>
    /// (`classify --folds -2` ran the default 5 folds, `ucr-dynamics --cv 1` no cross-validation; found by QA).
    /// </summary>
    public static Option<int> ZeroOrAtLeast(this Option<int> option, int lowest)
    {
        option.Validators.Add(result =>
        {
            if (Parsed<int>(result) is { } value && value != 0 && value < lowest)
            {
                result.AddError($"{option.Name} {value} must be 0 (its default) or at least {lowest}");
            }
        });
        return option;
    }

    /// <summary>
    /// Refuses, when the command line is parsed, a comma-separated list of whole numbers that is empty, holds something
    /// else than a whole number, or a number below <paramref name="lowest"/> (`--sizes ""` ran nothing, `--lengths 0`
    /// reached the library; found by QA). <paramref name="allowEmpty"/>: an empty list is a value (no entries). An empty
    /// entry inside the list is refused too (`psmnist --head ,,` ran an empty head, `1,,2` read as `1,2`; found by QA).
    /// </summary>
    public static Option<string> NumbersFrom(this Option<string> option, int lowest, bool allowEmpty = false)
    {
        option.Validators.Add(result =>
        {
            var (text, items) = List(result);
            var bad = items.FirstOrDefault(n => !int.TryParse(n, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) || v < lowest);
            if ((items.Length == 0 && !allowEmpty) || bad is not null)
            {
                var least = lowest == int.MinValue ? string.Empty : $" of at least {lowest}";
                var shown = string.IsNullOrEmpty(bad) ? text : bad;
                var count = allowEmpty ? " (or none)" : " (at least one)";
                var empty = bad == string.Empty ? "; an entry is empty" : string.Empty;
                result.AddError($"{option.Name} '{shown}': expected comma-separated whole numbers{least}{count}{empty}");
            }
        });
        return option;
    }

    /// <summary>
    /// Refuses, when the command line is parsed, a name that is empty or only blanks (a column name: `predict --features
    /// ""` failed in ML.NET's words after the model had loaded; found by QA). An option left out keeps its default.
    /// </summary>
    public static Option<T> NotBlank<T>(this Option<T> option, string what = "a column name") where T : class?
    {
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && result.Tokens.All(t => string.IsNullOrWhiteSpace(t.Value)))
            {
                result.AddError($"{option.Name} is empty: give {what}");
            }
        });
        return option;
    }

    /// <summary>
    /// Refuses, when the command line is parsed, a path given that is not a file: bench-curve ran on without its peer for a
    /// script that did not exist, saying it had looked somewhere else (found by QA).
    /// </summary>
    public static Option<string?> ExistingFile(this Option<string?> option)
    {
        option.Validators.Add(result =>
        {
            var value = result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
            if (value is not null && !File.Exists(value))
            {
                result.AddError(Directory.Exists(value) ? $"{option.Name} '{value}' is a folder; give the file" : $"{option.Name} '{value}' does not exist");
            }
        });
        return option;
    }

    /// <summary>Refuses, when the command line is parsed, a comma-separated list with no entry (`ucr --datasets ""` ran nothing and exited 0; found by QA).</summary>
    public static Option<string> NotEmptyList(this Option<string> option)
    {
        option.Validators.Add(result =>
        {
            var (text, items) = List(result);
            if (items.Length == 0)
            {
                result.AddError($"{option.Name} is empty: give at least one name (comma-separated)");
            }
            else if (items.Contains(string.Empty))
            {
                result.AddError($"{option.Name} '{text}' has an empty entry: give comma-separated names");
            }
        });
        return option;
    }

    /// <summary>
    /// Refuses, when the command line is parsed, a comma-separated list that is empty or names a value outside
    /// <paramref name="allowed"/>, compared as written (an unknown name ran nothing and exited 0; found by QA; the
    /// commands compare names case-sensitively, so `Default` would pass a case-blind check and still run nothing).
    /// </summary>
    public static Option<string> OneOrMoreOf(this Option<string> option, IReadOnlyCollection<string> allowed)
    {
        option.Validators.Add(result =>
        {
            var (text, names) = List(result);
            var unknown = names.FirstOrDefault(n => !allowed.Contains(n, StringComparer.Ordinal));
            if (names.Length == 0 || unknown is not null)
            {
                // An empty entry (`ff_dense,,ff_rnn`) was dropped silently before (review).
                var what = unknown == string.Empty ? $"'{text}' has an empty entry; each must be" : $"'{unknown ?? string.Empty}' is not";
                result.AddError($"{option.Name} {what} one of {string.Join(", ", allowed)} (comma-separated, at least one)");
            }
        });
        return option;
    }

    /// <summary>
    /// Gives every <c>--threads</c> option of <paramref name="root"/>'s commands a check that the value is at least 1,
    /// when the command line is parsed: libtorch aborted the process on 0 or a negative count ("Expected positive number
    /// of threads", exit 134; found by QA).
    /// </summary>
    public static void PositiveThreads(Command root)
    {
        // The root's own options too: the main job's --threads 0 still aborted (found by QA).
        foreach (var option in root.Options.OfType<Option<int>>().Where(o => o.Name == "--threads"))
        {
            option.Between(1);
        }

        foreach (var command in root.Subcommands)
        {
            PositiveThreads(command);
        }
    }

    /// <summary>
    /// The option's text (trimmed) and its comma-separated entries, an empty entry kept as "" so that a check can refuse
    /// it (they were dropped: `1,,2` read as `1,2`); blank text is no entry at all.
    /// </summary>
    private static (string Text, string[] Items) List(System.CommandLine.Parsing.OptionResult result)
    {
        var text = (result.GetValueOrDefault<string>() ?? string.Empty).Trim();
        return (text, text.Length == 0 ? [] : text.Split(',', StringSplitOptions.TrimEntries));
    }

    /// <summary>
    /// The option's value, or null when its text did not parse: that is the parser's own error to report, and asking for
    /// the value threw from inside the validator (an unhandled exception with a stack trace for `--budget abc`; found by QA).
    /// </summary>
    private static T? Parsed<T>(System.CommandLine.Parsing.OptionResult result)
        where T : struct
    {
        try
        {
            return result.GetValueOrDefault<T>();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>Runs the parsed command with this error policy; returns the exit code.</summary>
    public static int Invoke(ParseResult parsed)
    {
        if (parsed.Errors.Count > 0 && parsed.Action is not HelpAction)
        {
            var command = string.Join(' ', parsed.CommandResult.Command.Parents.OfType<Command>().Reverse().Skip(1).Select(c => c.Name).Append(parsed.CommandResult.Command.Name).Where(n => n.Length > 0));
            var more = parsed.Errors.Count > 1 ? $" (and {parsed.Errors.Count - 1} more)" : string.Empty;
            Say($"error: {OneLine(parsed.Errors[0].Message)}{more}. Run '{(parsed.CommandResult.Parent is null ? string.Empty : command + " ")}--help' for the options.");
            return ExitCode;
        }

        try
        {
            var code = parsed.Invoke(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
            // Commands that print their own message return a non-zero code; failures exit with one code.
            return code == 0 ? 0 : ExitCode;
        }
        catch (Exception e)
        {
            var cause = Cause(e);
            // Messages of our own checks (bad data, bad files, bad options) say what and where; anything else is
            // named by its type so a bug is not mistaken for bad input.
            var expected = cause is InvalidDataException or IOException or ArgumentException or NotSupportedException or UnauthorizedAccessException or InsufficientMemoryException;
            var hint = parsed.GetValue(Verbose) ? string.Empty : " (--verbose prints the stack trace)";
            // A closed or full standard output was reported as "Access to the path is denied" or "No space left on
            // device", as if a file were at fault (QA: `lmu serve >&-`, `lmu classify >/dev/full`).
            var outOfMemory = cause is OutOfMemoryException and not InsufficientMemoryException;
            var message = StandardOutputFault(cause)
                ? $"standard output cannot be written ({OneLine(cause.InnerException?.Message ?? cause.Message)}): it is closed or its device is full; send it to a terminal, a file or a pipe"
                : outOfMemory
                    ? OutOfMemoryAdvice.Message(parsed.CommandResult.Command.Name, cause.Message)
                    : OneLine(cause.Message);
            Say($"error: {(expected || outOfMemory ? string.Empty : cause.GetType().Name + ": ")}{message}{hint}");
            if (parsed.GetValue(Verbose))
            {
                Say(e.ToString());
            }

            return ExitCode;
        }
    }

    // The error line, unless standard error itself cannot be written (a full device, a closed descriptor, no file
    // descriptor left): the failure then ended the process with an unhandled exception, exit 134, and the error code
    // was lost (limits QA: serve under a low open-files limit; `2>/dev/full`).
    private static void Say(string line)
    {
        try
        {
            Console.Error.WriteLine(line);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Nowhere left to say it: the exit code says it.
        }
    }

    /// <summary>True when <paramref name="cause"/> came from writing to the console (a write to the process's standard output).</summary>
    internal static bool StandardOutputFault(Exception cause) =>
        cause is IOException or UnauthorizedAccessException && cause.StackTrace?.Contains("System.ConsolePal.Write", StringComparison.Ordinal) == true;

    /// <summary>The exception that says what happened: reflection and ML.NET's worker threads wrap it.</summary>
    private static Exception Cause(Exception e)
    {
        while (e.InnerException is { } inner
               && (e is TargetInvocationException or AggregateException
                   || (e is InvalidOperationException && e.Message.StartsWith("Splitter/consolidator worker", StringComparison.Ordinal))))
        {
            e = inner;
        }

        return e;
    }

    private static string OneLine(string message) =>
        string.Join(' ', message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).TrimEnd('.');
}
