using System.Diagnostics;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Samples.Bench;

/// <summary>Our side of the bench: <see cref="LmuNetwork"/> trained by our <see cref="AdamOptimizer"/>, in this process.</summary>
internal sealed class OursSide : IBenchSide
{
    private LmuNetwork? _net;
    private Tensor? _x, _y;
    private AdamOptimizer? _opt;
    private readonly TorchSharp.Modules.CrossEntropyLoss _loss = nn.CrossEntropyLoss();

    /// <summary>Sets the torch thread count for this process.</summary>
    public OursSide(int threads) => torch.set_num_threads(threads);

    /// <inheritdoc />
    public string Name => "ours";

    /// <inheritdoc />
    public double MatmulGflops(int n, int reps)
    {
        using var a = torch.randn(n, n);
        using var b = torch.randn(n, n);
        return 2.0 * n * n * (double)n / MedianSeconds(() => { using var c = a.mm(b); }, reps) / 1e9;
    }

    /// <inheritdoc />
    public double CopyGBs(int mib, int reps)
    {
        using var src = torch.randn(mib * 262144L);
        using var dst = torch.empty_like(src);
        return 2.0 * src.numel() * 4 / MedianSeconds(() => dst.copy_(src), reps) / 1e9;
    }

    /// <inheritdoc />
    public void Setup(string config, int steps, int batch, int seed)
    {
        Release();
        torch.manual_seed(seed);
        _net = new LmuNetwork(BenchConfigurations.Create(config, steps));
        _x = torch.rand(batch, steps, 1);
        _y = torch.randint(0, BenchConfigurations.Classes, batch, dtype: int64);
        _opt = new AdamOptimizer(_net.parameters(), 1e-3);
    }

    /// <summary>The network of the last <see cref="Setup"/>.</summary>
    public LmuNetwork Network => _net ?? throw new InvalidOperationException("Call Setup first.");

    /// <summary>The input batch of the last <see cref="Setup"/>, [batch, T] row-major (one channel).</summary>
    public float[] InputValues() => _x?.data<float>().ToArray() ?? throw new InvalidOperationException("Call Setup first.");

    /// <summary>The network's output for the input batch in inference mode, [batch, OutputSize] row-major.</summary>
    public float[] Outputs()
    {
        using var scope = NewDisposeScope();
        using var _ = torch.no_grad();
        _net!.eval();
        return _net.forward(_x!).data<float>().ToArray();
    }

    /// <inheritdoc />
    public double Train(int calls = 1) => Time(TrainStep, calls);

    /// <inheritdoc />
    public double Infer(int calls = 1) => Time(InferBatch, calls);

    /// <inheritdoc />
    public (double Seconds, long PeakKb) TrainWithMemory()
    {
        double s = 0;
        long kb = ProcessMemory.PeakAddedKb(() => s = Time(TrainStep));
        return (s, kb);
    }

    /// <inheritdoc />
    public (double Seconds, long PeakKb) InferWithMemory()
    {
        double s = 0;
        long kb = ProcessMemory.PeakAddedKb(() => s = Time(InferBatch));
        return (s, kb);
    }

    private void TrainStep()
    {
        using var scope = NewDisposeScope();
        _net!.train();
        _opt!.ZeroGrad();
        _loss.forward(_net.forward(_x!), _y!).backward();
        _opt.Step();
    }

    private void InferBatch()
    {
        using var scope = NewDisposeScope();
        using var _ = torch.no_grad();
        _net!.eval();
        _net.forward(_x!);
    }

    private static double Time(Action action, int calls = 1)
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < calls; i++) action();
        return sw.Elapsed.TotalSeconds / calls;
    }

    private static double MedianSeconds(Action action, int reps)
    {
        action();
        var times = new double[reps];
        for (int i = 0; i < reps; i++) times[i] = Time(action);
        return SampleStats.Of(times).Median;
    }

    private void Release()
    {
        _opt?.Dispose();
        _net?.Dispose();
        _x?.Dispose();
        _y?.Dispose();
        (_opt, _net, _x, _y) = (null, null, null, null);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Release();
        _loss.Dispose();
    }
}
