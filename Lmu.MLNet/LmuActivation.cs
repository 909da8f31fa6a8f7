namespace Lmu.MLNet;

/// <summary>Element-wise activation functions used by hidden cells and heads.</summary>
public enum LmuActivation
{
    /// <summary>f(x) = x.</summary>
    Identity,

    /// <summary>Hyperbolic tangent.</summary>
    Tanh,

    /// <summary>max(x, 0).</summary>
    Relu,

    /// <summary>Logistic sigmoid 1 / (1 + e^-x).</summary>
    Sigmoid,
}
