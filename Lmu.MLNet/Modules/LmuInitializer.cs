namespace Lmu.MLNet.Modules;

/// <summary>
/// How an encoder or kernel of an LMU layer is initialised. fan_in and fan_out are the sizes the weight maps from and
/// to: an encoder e [in, out] maps rows to columns, a kernel W [G*units, in] (PyTorch layout, G gates) maps columns
/// to rows, so for it fan_out counts every gate.
/// </summary>
public enum LmuInitializer
{
    /// <summary>All zeros (the memory encoder's default, so that training starts from the exact Legendre dynamics).</summary>
    Zeros,

    /// <summary>U(-1/√units, 1/√units) with units = HiddenUnits: PyTorch's default for recurrent cells (the kernels' default).</summary>
    RecurrentUniform,

    /// <summary>U(-√(3/fan_in), √(3/fan_in)) (LeCun uniform: unit variance for unit-variance inputs; the encoders' default).</summary>
    LecunUniform,

    /// <summary>U(-√(6/(fan_in + fan_out)), √(6/(fan_in + fan_out))) (Glorot and Bengio 2010).</summary>
    XavierUniform,

    /// <summary>N(0, 2/(fan_in + fan_out)) (Glorot and Bengio 2010).</summary>
    XavierNormal,

    /// <summary>A (semi-)orthogonal matrix (Saxe et al. 2014), gain 1: keeps a recurrent kernel's norm at 1.</summary>
    Orthogonal,
}
