using Lmu.MLNet.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

/// <summary>
/// LMU layer + dense head. forward: x [batch, T, InputSize] (and optional lengths [batch]) -> raw outputs
/// [batch, OutputSize] read from each row's last step.
/// </summary>
public sealed class LmuNetwork : nn.Module<Tensor, Tensor>
{
    private readonly LmuNetworkOptions _options;
    private readonly LmuLayer lmu;
    private readonly ModuleList<Linear> head;

    /// <summary>Builds the network; throws <see cref="ArgumentException"/> for invalid options.</summary>
    public LmuNetwork(LmuNetworkOptions options) : base("LmuNetwork")
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = new LmuNetworkOptions
        {
            Layer = options.Layer.Clone(), HeadHiddenSizes = options.HeadHiddenSizes.ToArray(),
            HeadActivation = options.HeadActivation, HeadDropout = options.HeadDropout, OutputSize = options.OutputSize,
        };
        lmu = new LmuLayer(_options.Layer);
        head = new ModuleList<Linear>();
        int width = lmu.OutputSize;
        foreach (var h in _options.HeadHiddenSizes)
        {
            head.Add(nn.Linear(width, h));
            width = h;
        }
        head.Add(nn.Linear(width, _options.OutputSize));
        RegisterComponents();
    }

    /// <summary>The LMU layer.</summary>
    public LmuLayer Layer => lmu;

    /// <summary>The options (a copy is kept; do not mutate the returned object's lists).</summary>
    public LmuNetworkOptions Options => _options;

    /// <summary>Number of trainable scalars.</summary>
    public long ParameterCount => parameters().Where(p => p.requires_grad).Sum(p => p.numel());

    /// <inheritdoc />
    public override Tensor forward(Tensor x) => forward(x, null);

    /// <summary>x [batch, T, InputSize], lengths optional int64 [batch] -> [batch, OutputSize].</summary>
    public Tensor forward(Tensor x, Tensor? lengths)
    {
        using var scope = NewDisposeScope();
        var y = lmu.ForwardLast(x, lengths);
        for (int i = 0; i < head.Count; i++)
        {
            if (training && _options.HeadDropout > 0) y = nn.functional.dropout(y, _options.HeadDropout, true);
            y = head[i].forward(y);
            if (i < head.Count - 1) y = HiddenCellModule.Activate(y, _options.HeadActivation);
        }
        return y.MoveToOuterDisposeScope();
    }

    /// <summary>The trained network as plain data for the ONNX writer (trainable theta frozen at its value).</summary>
    internal LmuNetworkSpec ToSpec(int sequenceLength)
    {
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
        return new LmuNetworkSpec { SequenceLength = sequenceLength, Layer = lmu.ToSpec(), Head = dense };
    }
}
