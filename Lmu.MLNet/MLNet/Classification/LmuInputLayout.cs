namespace Lmu.MLNet.Classification;

/// <summary>How the C channels of a row's T steps are laid out in its features vector.</summary>
/// <remarks>
/// Why two layouts: a sensor that records each channel as its own column gives, after ML.NET's
/// <c>Concatenate("Features", "ChannelA", "ChannelB")</c>, the channels one after another, and ML.NET has no transform
/// that interleaves them. <see cref="ChannelMajor"/> reads that vector as it is; the network still sees [T, C].
/// </remarks>
public enum LmuInputLayout
{
    /// <summary>Each step's C values side by side: <c>[x(0, 0..C-1), x(1, 0..C-1), ...]</c>, value (t, c) at t*C + c. The default.</summary>
    StepMajor,

    /// <summary>
    /// Each channel's T values one after another: <c>[x(0..T-1, 0), x(0..T-1, 1), ...]</c>, value (t, c) at c*T + t, as
    /// <c>Concatenate</c> of one column per channel gives. Needs a fixed-size features column (a VarVector row's
    /// channels cannot be told apart without its length); a length column then counts the valid steps of every channel.
    /// </summary>
    ChannelMajor,
}
