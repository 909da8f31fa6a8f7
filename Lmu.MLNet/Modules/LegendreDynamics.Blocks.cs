using TorchSharp;
using static TorchSharp.torch;

namespace Lmu.MLNet.Modules;

public sealed partial class LegendreDynamics
{
    private readonly Dictionary<(int Block, ScalarType Type, DeviceType Device, int Index), Tensor> _powers = new();

    /// <summary>
    /// (Ad^T)^(j+1) for j &lt; <paramref name="block"/>, as [block, q, q]: what carries a block's starting memory to
    /// each of its steps in the blocked projection (<see cref="LmuLayer"/>'s ParallelLastRnn). Fixed dynamics only,
    /// computed in float64 from the Legendre system and cast once, cached per block, dtype and device. The caller owns
    /// the alias returned (made under the cache's lock, so a Dispose of the module cannot free the storage under it).
    /// </summary>
    /// <exception cref="InvalidOperationException">The dynamics are learned.</exception>
    internal Tensor BlockPowers(int block, ScalarType dtype, Device device)
    {
        if (_fixed is null) throw new InvalidOperationException("Block powers are cached for fixed dynamics only.");
        lock (_cacheGate)
        {
            ThrowIfDisposed();
            return BlockPowersLocked(block, dtype, device).alias();
        }
    }

    private Tensor BlockPowersLocked(int block, ScalarType dtype, Device device)
    {
        var key = (block, dtype, device.type, device.index);
        if (_powers.TryGetValue(key, out var hit)) return hit;
        using var scope = NewDisposeScope();
        // float64 powers, cast at the end: the float32 products would round at every one of the block's steps.
        var adT = TensorConversions.FromMatrix(_fixed!.Ad, float64).t();
        var powers = new Tensor[block];
        powers[0] = adT;
        for (int j = 1; j < block; j++) powers[j] = powers[j - 1].MatMul(adT);
        var stacked = torch.stack(powers).to(dtype, device).contiguous().DetachFromDisposeScope();
        _powers[key] = stacked;
        return stacked;
    }

    private void DisposePowers()
    {
        foreach (var p in _powers.Values) p.Dispose();
        _powers.Clear();
    }
}
