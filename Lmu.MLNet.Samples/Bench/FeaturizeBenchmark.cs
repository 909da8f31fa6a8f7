using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// Scoring speed of the two featurizers through ML.NET (Transform and one pass over the output, as a pipeline reads
/// it) against the PyTorch peer <c>Bench/peer_featurize.py</c> doing the same arithmetic on the same shapes, batched,
/// in the same invocation.
/// </summary>
internal static class FeaturizeBenchmark
{
    public sealed record Settings(int Rows, int Steps, int Windows, int Projections, int Order, int PeerThreads, int Repeats, bool Peer);

    public static int Run(Settings s)
    {
        var ml = new MLContext(seed: 1);
        var random = new Random(1);
        var rows = Enumerable.Range(0, s.Rows)
            .Select(_ => new Row { Features = Enumerable.Range(0, s.Steps).Select(_ => (float)((random.NextDouble() * 2) - 1)).ToArray() })
            .ToList();
        var def = SchemaDefinition.Create(typeof(Row));
        def[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, s.Steps);
        var data = ml.Data.LoadFromEnumerable(rows, def);
        Console.WriteLine($"{s.Rows} rows x {s.Steps} steps; pooled: {s.Windows} windows x {s.Projections} projections, order {s.Order}; final: order 16; median of {s.Repeats}");

        var clock = Stopwatch.StartNew();
        using var final = ml.Transforms.LmuFeaturize("Out", "Features", order: 16).Fit(data);
        var finalFit = clock.Elapsed.TotalSeconds;
        clock.Restart();
        using var pooled = ml.Transforms.LmuPooledFeaturize(new LmuPooledFeaturizerOptions
        {
            InputColumnName = "Features", OutputColumnName = "Out", Windows = s.Windows, ProjectionsPerWindow = s.Projections, Order = s.Order,
        }).Fit(data);
        var pooledFit = clock.Elapsed.TotalSeconds;
        var ours = new Dictionary<string, double> { ["final"] = Median(() => Score(final, data), s.Repeats), ["pooled"] = Median(() => Score(pooled, data), s.Repeats) };
        var reason = "--no-peer";
        var peer = s.Peer ? RunPeer(s, out reason) : null;

        // Milliseconds with three decimals: a few rows take microseconds, which seconds to four decimals printed as 0.0000
        // (and a ratio over that zero; found by QA).
        Console.WriteLine($"{"featurizer",-10} | {"ours (ms)",11} | {"ours rows/s",11} | {"peer (ms)",11} | {"ratio",6} | fit (s)");
        foreach (var (name, fit) in new[] { ("final", finalFit), ("pooled", pooledFit) })
        {
            var p = peer?.GetValueOrDefault(name);
            var ratio = p is > 0 ? (ours[name] / p.Value).ToString("0.00", CultureInfo.InvariantCulture) : "-";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{name,-10} | {ours[name] * 1e3,11:0.000} | {s.Rows / ours[name],11:0} | {(p is null ? "-" : (p.Value * 1e3).ToString("0.000", CultureInfo.InvariantCulture)),11} | {ratio,6} | {fit:0.00}"));
        }

        if (peer is null)
        {
            Console.WriteLine($"peer not run: {reason}");
        }

        return 0;
    }

    /// <summary>Transform and read every output row, as a downstream trainer would.</summary>
    private static void Score(ITransformer model, IDataView data)
    {
        var scored = model.Transform(data);
        using var cursor = scored.GetRowCursor([scored.Schema["Out"]]);
        var getter = cursor.GetGetter<VBuffer<float>>(scored.Schema["Out"]);
        var buffer = default(VBuffer<float>);
        while (cursor.MoveNext())
        {
            getter(ref buffer);
        }
    }

    private static double Median(Action run, int repeats)
    {
        run(); // warm-up: session creation and first-run allocations are not scoring speed
        var times = new List<double>();
        for (var i = 0; i < repeats; i++)
        {
            var clock = Stopwatch.StartNew();
            run();
            times.Add(clock.Elapsed.TotalSeconds);
        }

        times.Sort();
        return times[times.Count / 2];
    }

    private static Dictionary<string, double>? RunPeer(Settings s, out string reason)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "Bench", "peer_featurize.py");
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var json = Path.Combine(Path.GetTempPath(), $"lmu-peer-featurize-{Environment.ProcessId}.json");
        try
        {
            var psi = new ProcessStartInfo(python)
            {
                ArgumentList =
                {
                    script, "--rows", $"{s.Rows}", "--steps", $"{s.Steps}", "--windows", $"{s.Windows}", "--projections", $"{s.Projections}",
                    "--order", $"{s.Order}", "--threads", $"{s.PeerThreads}", "--repeats", $"{s.Repeats}", "--json", json,
                },
                UseShellExecute = false,
            };
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            if (p.ExitCode != 0 || !File.Exists(json))
            {
                reason = $"peer failed (exit {p.ExitCode}); install with: apt-get install -y python3-torch libopenblas0-pthread";
                return null;
            }

            using var doc = JsonDocument.Parse(File.ReadAllText(json));
            reason = string.Empty;
            return new Dictionary<string, double>
            {
                ["final"] = doc.RootElement.GetProperty("final").GetDouble(),
                ["pooled"] = doc.RootElement.GetProperty("pooled").GetDouble(),
            };
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            reason = $"python3 not runnable: {e.Message}";
            return null;
        }
        finally
        {
            File.Delete(json);
        }
    }

    private sealed class Row
    {
        public float[] Features { get; set; } = [];
    }
}
