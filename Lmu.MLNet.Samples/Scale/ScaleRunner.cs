using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Microsoft.ML;

namespace Lmu.MLNet.Samples.Scale;

/// <summary>The <c>scale</c> command's parent: writes the datasets, runs one child per task and size, prints the table.</summary>
internal static class ScaleRunner
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public sealed record Settings(string Tasks, int BaseMb, string Sizes, int HeapLimitMb, string Dir, int Threads, int Seed);

    public static int Run(Settings s)
    {
        // --tasks, --sizes, --base-mb, --heap-limit-mb and --threads are checked when the command line is read.
        var tasks = s.Tasks.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var multiples = s.Sizes.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(m => int.Parse(m, Inv)).ToArray();

        // The files are written before any training: a size the disk cannot hold filled it (QA: --base-mb 100000000 wrote
        // 8 GB of a 100 TB file before it was stopped). Each file about base x multiple MB of values, plus labels.
        var needed = tasks.Sum(t => multiples.Where(m => !File.Exists(Path.Combine(s.Dir, $"{t}-{s.BaseMb}mb-{m}x.idv"))).Sum(m => (long)s.BaseMb * m)) * (1L << 20);
        var existing = Path.GetFullPath(s.Dir);
        while (!Directory.Exists(existing) && Path.GetDirectoryName(existing) is { } parent)
        {
            existing = parent;
        }

        // A folder that cannot be written reported "0 MB free" (a read-only mount; found by QA): try it first. The probe
        // sits in the nearest folder that exists, so a refused run creates nothing.
        Writable(existing, s.Dir);
        var free = new DriveInfo(existing).AvailableFreeSpace;
        if (needed > free)
        {
            throw new ArgumentException(FormattableString.Invariant(
                $"--base-mb {s.BaseMb} with --sizes {s.Sizes}: the data files need about {needed >> 20:N0} MB, and '{s.Dir}' has {free >> 20:N0} MB free."));
        }

        Directory.CreateDirectory(s.Dir);
        Console.WriteLine($"scale: {Machine()}; base {s.BaseMb} MB of float32 values, sizes {string.Join(", ", multiples.Select(m => $"{m}x"))}, " +
                          $"one epoch, torch threads {s.Threads}, managed heap cap {(s.HeapLimitMb > 0 ? $"{s.HeapLimitMb} MB" : "none")} per training process");
        var ml = new MLContext(s.Seed);
        var results = new List<string>();
        foreach (var task in tasks)
        {
            foreach (var m in multiples)
            {
                var (rows, floatBytes) = Size(task, s.BaseMb, m);
                var path = Path.Combine(s.Dir, $"{task}-{s.BaseMb}mb-{m}x.idv");
                if (!File.Exists(path))
                {
                    var write = Stopwatch.StartNew();
                    var bytes = task == "classify" ? ScaleData.WriteClassify(ml, path, rows) : ScaleData.WriteForecast(ml, path, rows);
                    Console.WriteLine($"  wrote {path}: {rows:N0} rows, {bytes / 1e6:F1} MB in {write.Elapsed.TotalSeconds:F1} s");
                }

                var load = LoadAverage();
                var wall = Stopwatch.StartNew();
                var line = Child(task, path, s);
                var total = wall.Elapsed.TotalSeconds;
                var fields = line.Split(' ').Skip(1).Select(f => f.Split('=')).ToDictionary(p => p[0], p => p[1]);
                var fit = double.Parse(fields["fit_s"], Inv);
                var peakMb = long.Parse(fields["vmhwm_kb"], Inv) / 1024.0;
                var disk = new FileInfo(path).Length;
                var row = $"| {task} | {m}x | {rows:N0} | {floatBytes / 1e6:F0} | {disk / 1e6:F0} | {fit:F1} | {fit / m:F1} | {peakMb:F0} | {total:F1} | {load} / {LoadAverage()} |";
                Console.WriteLine(row);
                results.Add(row);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| task | size | rows | float32 MB | MB on disk | fit wall s | s per 1x | peak RSS MB | process wall s | load avg before / after |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
        results.ForEach(Console.WriteLine);
        return 0;
    }

    /// <summary>Throws naming <paramref name="dir"/> when a file cannot be created in <paramref name="existing"/> (its nearest existing folder).</summary>
    private static void Writable(string existing, string dir)
    {
        var probe = Path.Combine(existing, $".lmu-scale-probe-{Environment.ProcessId}");
        try
        {
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The reason without the probe's own name (review: the message showed '.lmu-scale-probe-<pid>').
            throw new ArgumentException($"--dir '{dir}': '{existing}' cannot be written ({e.Message.Replace(probe, existing, StringComparison.Ordinal)}).", e);
        }
    }

    /// <summary>Rows and float32 bytes of size <paramref name="multiple"/>x: whole series for forecasting.</summary>
    private static (long Rows, long FloatBytes) Size(string task, int baseMb, int multiple)
    {
        var bytes = (long)baseMb * 1_000_000 * multiple;
        if (task == "classify")
        {
            var rows = bytes / ScaleData.ClassifyRowBytes;
            return (rows, rows * ScaleData.ClassifyRowBytes);
        }

        var series = Math.Max(1, bytes / ScaleData.ForecastRowBytes / ScaleData.SeriesLength);
        return (series * ScaleData.SeriesLength, series * ScaleData.SeriesLength * ScaleData.ForecastRowBytes);
    }

    // This app again (apphost or `dotnet app.dll`), in child mode, with the heap cap; returns its result line.
    private static string Child(string task, string path, Settings s)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("The path of this process is unknown; cannot start the training process.");
        var info = new ProcessStartInfo(self) { RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        foreach (var a in new[] { "scale", "--child", task, "--data", path, "--threads", s.Threads.ToString(Inv), "--seed", s.Seed.ToString(Inv) })
        {
            info.ArgumentList.Add(a);
        }

        if (s.HeapLimitMb > 0)
        {
            info.Environment["DOTNET_GCHeapHardLimit"] = ((long)s.HeapLimitMb * 1024 * 1024).ToString("X", Inv);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("Could not start the training process.");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("scale-result ", StringComparison.Ordinal));
        if (process.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"The training process for {path} failed (exit code {process.ExitCode}); its output:\n{output}");
        }

        return line.Trim();
    }

    private static string Machine()
    {
        var cpu = File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim()
            : null;
        var memory = File.Exists("/proc/meminfo") ? File.ReadLines("/proc/meminfo").First().Split(':', 2)[1].Trim() : "?";
        return $"{cpu ?? "unknown CPU"}, {Environment.ProcessorCount} CPUs, MemTotal {memory}, load average {LoadAverage()}";
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";
}
