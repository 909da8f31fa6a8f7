using Lmu.MLNet.Network;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// LMU layers + dense head. forward: x [batch, T, InputSize] (and optional lengths [batch]) -> raw outputs
/// [batch, OutputSize] read from each row's last step, or from a pool over its steps
/// (<see cref="LmuNetworkOptions.Readout"/>). In a stack, layer i &gt; 0 reads layer i-1's whole output sequence;
/// every layer resolves its own form (<see cref="LmuLayer.ResolveMode"/>), so a feed-forward layer runs in parallel
/// form whatever the others do.
/// </summary>
public sealed class LmuNetwork : nn.Module<Tensor, Tensor>
{
    private readonly LmuNetworkOptions _options;
    private readonly ModuleList<LmuLayer> layers;
    private readonly ModuleList<Linear> head;
    private readonly IReadOnlyList<LmuLayer> _layerList;
    private bool _disposed;

    /// <summary>Builds the network; throws <see cref="ArgumentException"/> for invalid options.</summary>
    public LmuNetwork(LmuNetworkOptions options) : base("LmuNetwork")
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        // The first torch use: a clear refusal where libtorch would end the process (TorchNative.EnsureLoaded).
        TorchNative.EnsureLoaded();
        _options = options.Copy();
        layers = new ModuleList<LmuLayer>();
        foreach (var layer in _options.Layers) layers.Add(new LmuLayer(layer));
        _layerList = layers.ToArray();
        head = new ModuleList<Linear>();
        int width = ReadoutWidth.Of(_options.Readout, layers[^1].OutputSize);
        foreach (var h in _options.HeadHiddenSizes)
        {
            head.Add(InitialDraws.Linear(width, h));
            width = h;
        }
        head.Add(InitialDraws.Linear(width, _options.OutputSize));
        RegisterComponents();
        ScopeDetach.Components(this);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        base.Dispose(disposing);
    }

    /// <summary>
    /// Throws <see cref="ObjectDisposedException"/> once the network is disposed (a call failed with TorchSharp's
    /// "Tensor invalid -- empty handle"; found by QA).
    /// </summary>
    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>The first LMU layer (of a one-layer network, the layer).</summary>
    public LmuLayer Layer => layers[0];

    /// <summary>The LMU layers, input first.</summary>
    public IReadOnlyList<LmuLayer> Layers => _layerList;

    /// <summary>
    /// A copy of the options, with the layers in <see cref="LmuNetworkOptions.Layers"/>: changing it does not change the
    /// network (as <see cref="LmuLayer.Options"/>; it returned the network's own object, whose Readout changed what the
    /// network computed and exported; found by QA).
    /// </summary>
    public LmuNetworkOptions Options => _options.Copy();

    /// <summary>Each layer's current theta, input layer first (learned values when theta trains).</summary>
    internal IReadOnlyList<double> LayerThetas() => _layerList.Select(l => l.Dynamics.Theta).ToArray();

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount
    {
        get
        {
            // A disposed network has no parameters left, and counted 0 silently (found by QA); a layer disposed on its
            // own left the head's count (review).
            ThrowIfDisposed();
            foreach (var layer in _layerList)
            {
                layer.ThrowIfDisposed();
            }

            return parameters().Where(p => p.requires_grad).Sum(p => p.numel());
        }
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => forward(x, null);

    /// <summary>x [batch, T, InputSize], lengths optional int64 [batch] -> [batch, OutputSize].</summary>
    public Tensor forward(Tensor x, Tensor? lengths)
    {
        ArgumentNullException.ThrowIfNull(x);
        ThrowIfDisposed();
        // A layer without weights of its own (no encoders, no hidden cell) takes any float x, and the head's product
        // then failed in libtorch's words; found by QA.
        var w = head[0].weight!;
        if (x.is_floating_point() && (x.dtype != w.dtype || x.device_type != w.device_type || x.device_index != w.device_index))
            throw new ArgumentException($"x is {x.dtype} on {x.device}; the network's parameters are {w.dtype} on {w.device}. Convert x (x.to(...)) or the network (network.to(...)).", nameof(x));
        using var scope = NewDisposeScope();
        var y = Readout(x, lengths);
        for (int i = 0; i < head.Count; i++)
        {
            if (training && _options.HeadDropout > 0) y = DropoutMask.Apply(y, _options.HeadDropout);
            y = head[i].forward(y);
            if (i < head.Count - 1) y = HiddenCellModule.Activate(y, _options.HeadActivation);
        }
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// What the head reads: x [batch, T, InputSize], lengths optional int64 [batch] -> [batch, ReadoutWidth] (the last
    /// layer's last step, or its pool over each row's steps).
    /// </summary>
    internal Tensor Readout(Tensor x, Tensor? lengths)
    {
        using var scope = NewDisposeScope();
        // Inner layers run over the whole sequence without the lengths: every form is causal, so the steps a row's
        // last layer reads (up to its length) never see the padding after them, once it is zero (the FFT form's
        // round-off spreads large padding, and NaN padding reaches every step of its product: numerics QA).
        // (The last layer zeroes its own input's padding when given the lengths: a one-layer network needs no second pass.)
        var y = layers.Count > 1 ? LmuLayer.ZeroPastLength(x, lengths) : x;
        for (int i = 0; i < layers.Count - 1; i++) y = layers[i].forward(y);
        y = _options.Readout == LmuReadout.LastStep
            ? layers[^1].ForwardLast(y, lengths)
            : ReadoutPool.Apply(layers[^1].ForwardSequence(y, lengths), lengths, _options.Readout);
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>The trained network as plain data for the ONNX writer (trainable theta frozen at its value).</summary>
    internal LmuNetworkSpec ToSpec(int sequenceLength)
    {
        ThrowIfDisposed();
        using var scope = NewDisposeScope();
        var dense = new List<DenseSpec>();
        for (int i = 0; i < head.Count; i++)
        {
            var l = head[i];
            dense.Add(new DenseSpec
            {
                In = (int)l.weight!.shape[1], Out = (int)l.weight.shape[0],
                W = TensorConversions.ToFloatArray(l.weight.t()), B = l.bias is null ? null : TensorConversions.ToFloatArray(l.bias),
                Activation = i < head.Count - 1 ? _options.HeadActivation : LmuActivation.Identity,
            });
        }
        return new LmuNetworkSpec
        {
            SequenceLength = sequenceLength, Layers = layers.Select(l => l.ToSpec()).ToArray(), Head = dense, Readout = _options.Readout,
        };
    }
}
