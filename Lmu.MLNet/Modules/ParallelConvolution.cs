namespace Lmu.MLNet.Modules;

/// <summary>How the parallel form convolves the encoded input with the memory's impulse response.</summary>
public enum ParallelConvolution
{
    /// <summary>FFT convolution: O(T log T) per channel; the default for long sequences.</summary>
    Fft,

    /// <summary>Direct causal convolution, optionally with a truncated impulse response (cheaper when short).</summary>
    Direct,
}
