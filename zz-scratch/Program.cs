using System.Diagnostics;
using Lmu.MLNet;
using Lmu.MLNet.Modules;
using TorchSharp;
using static TorchSharp.torch;

torch.set_num_threads(1);
torch.manual_seed(0);
var opts = new LmuNetworkOptions
{
    Layer = new LmuLayerOptions { InputSize = 1, MemoryD = 1, Order = 256, Theta = 784, HiddenCell = HiddenCell.Dense, HiddenUnits = 212, InputToHidden = true },
    OutputSize = 10,
};
using var net = new LmuNetwork(opts);
using var x = torch.rand(100, 784, 1);
using var w = torch.randn(784, 212);
using var b = torch.randn(212);
using var win = x.reshape(100, 784);
double Time(Action a, int n = 2000)
{
    for (int i = 0; i < 50; i++) a();
    var s = new List<double>();
    for (int r = 0; r < 7; r++) { var sw = Stopwatch.StartNew(); for (int i = 0; i < n / 7; i++) a(); s.Add(sw.Elapsed.TotalMilliseconds * 1000 / (n / 7)); }
    s.Sort(); return s[3];
}
var opt = new Lmu.MLNet.Training.AdamOptimizer(net.parameters(), 1e-3);
var loss = torch.nn.CrossEntropyLoss();
using var yl = torch.randint(0, 10, 100, dtype: int64);
void Step() { using var scope = NewDisposeScope(); net.train(); opt.ZeroGrad(); loss.forward(net.forward(x), yl).backward(); opt.Step(); }
void Fwd() { using var scope = NewDisposeScope(); net.train(); opt.ZeroGrad(); loss.forward(net.forward(x), yl); }
void FwdBwd() { using var scope = NewDisposeScope(); net.train(); opt.ZeroGrad(); loss.forward(net.forward(x), yl).backward(); }
if (args.Length > 0 && args[0] == "perf") { for (int i = 0; i < 20000; i++) Step(); return; }
if (args.Length > 0 && args[0] == "cold")
{
    var big = new byte[128 << 20]; var big2 = new byte[128 << 20];
    for (int ww = 0; ww < 30; ww++) Step();
    for (int rep = 0; rep < 15; rep++)
    {
        Buffer.BlockCopy(big, 0, big2, 0, big.Length);
        Thread.Sleep(rep % 2 == 0 ? 0 : 50);
        var sw = Stopwatch.StartNew(); var first = 0.0;
        for (int i = 0; i < 13; i++) { Step(); if (i == 0) first = sw.Elapsed.TotalMilliseconds * 1000; }
        Console.WriteLine($"mean of 13 {sw.Elapsed.TotalMilliseconds * 1000 / 13:F1} us (first {first:F1} us, sleep {(rep % 2 == 0 ? 0 : 50)})");
    }
    return;
}
if (args.Length > 0 && args[0] == "train") { for (int rep = 0; rep < 3; rep++) Console.WriteLine($"step {Time(Step, 700):F1} us  fwd {Time(Fwd, 700):F1}  fwd+bwd {Time(FwdBwd, 700):F1}"); return; }
net.eval();
var mode = args.Length > 0 ? args[0] : "all";
for (int rep = 0; rep < 3; rep++)
{
    if (mode is "all" or "mm") Console.WriteLine($"mm      {Time(() => { using var y = win.mm(w); }):F1} us");
    if (mode is "all" or "addmm") Console.WriteLine($"addmm   {Time(() => { using var y = torch.addmm(b, win, w, 1, 1); }):F1} us");
    if (mode is "all" or "fwd") Console.WriteLine($"forward {Time(() => { using var scope = NewDisposeScope(); using var _ = torch.no_grad(); net.forward(x); }):F1} us");
    if (mode is "all" or "fwde") Console.WriteLine($"fwd+eval {Time(() => { using var scope = NewDisposeScope(); using var _ = torch.no_grad(); net.eval(); net.forward(x); }):F1} us");
}
