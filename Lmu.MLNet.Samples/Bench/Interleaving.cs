namespace Lmu.MLNet.Samples.Bench;

/// <summary>
/// Samples two sides in turn so that both see the same machine: round i runs ours then the peer, round i+1 the peer
/// then ours (A B B A ...), so neither side always follows the other (caches, frequency, a neighbour's burst). The
/// warm-up rounds are run the same way and dropped.
/// </summary>
internal static class Interleaving
{
    /// <summary>Seconds per sample of each side (warm-up excluded), in round order, so ratios can be paired.</summary>
    public static (double[] Ours, double[] Peer) Run(IBenchSide ours, IBenchSide? peer, Func<IBenchSide, double> sample,
        int warmup, int samples, Action<int, double, double?>? progress = null)
    {
        var a = new double[samples];
        var b = peer is null ? [] : new double[samples];
        for (int round = -warmup; round < samples; round++)
        {
            double oursSeconds, peerSeconds = double.NaN;
            if (peer is not null && (round & 1) == 1)
            {
                peerSeconds = sample(peer);
                oursSeconds = sample(ours);
            }
            else
            {
                oursSeconds = sample(ours);
                if (peer is not null) peerSeconds = sample(peer);
            }
            if (round < 0) continue;
            a[round] = oursSeconds;
            if (peer is not null) b[round] = peerSeconds;
            progress?.Invoke(round, oursSeconds, peer is null ? null : peerSeconds);
        }
        return (a, b);
    }

    /// <summary>Per-round ratios ours / peer.</summary>
    public static double[] Ratios(double[] ours, double[] peer) => ours.Zip(peer, (o, p) => o / p).ToArray();
}
