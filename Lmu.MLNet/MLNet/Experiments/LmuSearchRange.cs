namespace Lmu.MLNet.Experiments;

/// <summary>An inclusive integer range sampled uniformly, or log-uniformly when <paramref name="LogScale"/>.</summary>
public sealed record LmuIntRange(int Min, int Max, bool LogScale = false)
{
    internal void Validate(string name, int lowest)
    {
        if (Min < lowest || Max < Min)
        {
            throw new ArgumentException($"LmuSearchSpace.{name} must satisfy {lowest} <= Min <= Max but is [{Min}, {Max}].", name);
        }
    }

    internal int Sample(Random rng)
    {
        if (Min == Max)
        {
            return Min;
        }

        var v = LogScale
            ? Math.Exp(Math.Log(Min) + rng.NextDouble() * (Math.Log(Max + 1) - Math.Log(Min)))
            : Min + rng.NextDouble() * (Max + 1 - Min);
        return Math.Clamp((int)Math.Floor(v), Min, Max);
    }
}

/// <summary>An inclusive real range sampled uniformly, or log-uniformly when <paramref name="LogScale"/>.</summary>
public sealed record LmuDoubleRange(double Min, double Max, bool LogScale = false)
{
    internal void Validate(string name, double lowest, double highest)
    {
        if (!(Min >= lowest && Max >= Min && Max <= highest) || (LogScale && Min <= 0))
        {
            throw new ArgumentException($"LmuSearchSpace.{name} must satisfy {lowest} <= Min <= Max <= {highest} (Min > 0 on a log scale) but is [{Min}, {Max}].", name);
        }
    }

    internal double Sample(Random rng) =>
        Min == Max ? Min : LogScale ? Math.Exp(Math.Log(Min) + rng.NextDouble() * (Math.Log(Max) - Math.Log(Min))) : Min + rng.NextDouble() * (Max - Min);
}
