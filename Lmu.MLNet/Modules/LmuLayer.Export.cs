using Lmu.MLNet.Network;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LmuLayer
{
    /// <summary>
    /// The layer as plain data for the ONNX writer and the streaming engine: float64 Ad/Bd at the current theta, from
    /// the learned A and B when they train.
    /// </summary>
    internal LmuLayerSpec ToSpec()
    {
        ThrowIfDisposed();
        using var scope = NewDisposeScope();
        var (ad, bd) = dynamics.DiscreteMatrices();
        static float[]? F(Tensor? t) => t is null ? null : TensorConversions.ToFloatArray(t);
        DenseSpec? input = null, recurrent = null;
        if (hidden.Kind != HiddenCell.None)
        {
            var w = hidden.InputWeight!;
            input = new DenseSpec
            {
                In = (int)w.shape[1], Out = (int)w.shape[0], W = TensorConversions.ToFloatArray(w.t()),
                B = F(hidden.InputBias), Activation = hidden.Activation,
            };
            if (hidden.RecurrentWeight is { } wh)
                recurrent = new DenseSpec { In = (int)wh.shape[1], Out = (int)wh.shape[0], W = TensorConversions.ToFloatArray(wh.t()), B = F(hidden.RecurrentBias) };
        }
        return new LmuLayerSpec
        {
            InputSize = _options.InputSize, MemoryD = _options.MemoryD, Order = _options.Order,
            Ad = Flatten(ad), Bd = bd,
            Ex = F(e_x), Bu = F(b_u), Eh = F(e_h), Em = F(e_m),
            InputToHidden = _options.InputToHidden, Hidden = hidden.Kind, Units = hidden.Units, ImpulseTruncation = _options.ImpulseTruncation,
            HiddenInput = input, HiddenRecurrent = recurrent,
        };
    }

    private static double[] Flatten(double[,] m) => TensorConversions.Flatten(m);
}
