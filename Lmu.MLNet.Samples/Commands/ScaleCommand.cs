using System.CommandLine;
using Lmu.MLNet.Samples.Scale;

namespace Lmu.MLNet.Samples.Commands;

/// <summary>
/// <c>scale</c>: data larger than memory. Writes classification and forecasting datasets in ML.NET's binary format at
/// multiples of a base size, trains one epoch on each in a child process whose managed heap is capped below the largest
/// dataset, and prints rows, bytes on disk, wall time and peak resident memory per size.
/// </summary>
internal static class ScaleCommand
{
    public static Command Create()
    {
        var tasks = new Option<string>("--tasks") { Description = "Comma-separated: classify, forecast.", DefaultValueFactory = _ => "classify,forecast" }.OneOrMoreOf(["classify", "forecast"]);
        var baseMb = new Option<int>("--base-mb") { Description = "Size 1x: MB of float32 values (features or series values).", DefaultValueFactory = _ => 32 }.Between(1);
        var sizes = new Option<string>("--sizes") { Description = "Comma-separated multiples of the base size.", DefaultValueFactory = _ => "1,4,16" }.NumbersFrom(1);
        var heapLimit = new Option<int>("--heap-limit-mb") { Description = "Managed heap cap of each training process (DOTNET_GCHeapHardLimit); 0 = none.", DefaultValueFactory = _ => 192 }.Between(0);
        var dir = new Option<string>("--dir") { Description = "Folder for the datasets (kept for reruns; delete it afterwards).", DefaultValueFactory = _ => "scale-out" };
        var threads = new Option<int>("--threads") { Description = "Torch intra-op threads.", DefaultValueFactory = _ => 1 };
        var seed = new Option<int>("--seed") { Description = "Seed of the training runs.", DefaultValueFactory = _ => 1 };
        var child = new Option<string?>("--child") { Description = "Internal: train one epoch on --data as this task and print the result line.", Hidden = true };
        var data = new Option<string?>("--data") { Description = "Internal: the dataset of --child.", Hidden = true };
        var cmd = new Command("scale", "Trains one epoch on generated datasets of 1x, 4x, 16x a base size (binary IDataView on disk), each in a child process with a capped heap; prints rows, bytes, wall time, peak resident memory.")
        {
            tasks, baseMb, sizes, heapLimit, dir, threads, seed, child, data,
        };
        cmd.SetAction(r => r.GetValue(child) is { } task
            ? ScaleFit.Run(task, r.GetValue(data) ?? throw new ArgumentException("--child needs --data."), r.GetValue(threads), r.GetValue(seed))
            : ScaleRunner.Run(new ScaleRunner.Settings(
                r.GetValue(tasks)!, r.GetValue(baseMb), r.GetValue(sizes)!, r.GetValue(heapLimit), r.GetValue(dir)!, r.GetValue(threads), r.GetValue(seed))));
        return cmd;
    }
}
