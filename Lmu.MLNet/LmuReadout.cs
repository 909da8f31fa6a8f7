namespace Lmu.MLNet;

/// <summary>What the network's head reads from the last LMU layer's output sequence.</summary>
/// <remarks>
/// Why pooling: a head that reads only the last step must find a pattern wherever it occurred through what the memory
/// still holds of it at the end; pooling over time reads every step, so a pattern counts wherever it occurs (the global
/// pooling that convolutional time-series classifiers and random-kernel models rely on). With variable-length rows
/// the pool covers each row's own steps only. Cost: a pool reads every step of the last layer, so a recurrent last
/// layer runs its full-sequence scan and keeps every state for the backward pass (no checkpoints, unlike the last-step
/// readout's scans): memory O(T x batch x width).
/// </remarks>
public enum LmuReadout
{
    /// <summary>The output at each row's last step: [B, OutputSize]. The only readout a streaming forecast can use.</summary>
    LastStep,

    /// <summary>The mean of the output over each row's steps: [B, OutputSize].</summary>
    Mean,

    /// <summary>The mean, then the maximum, of the output over each row's steps, concatenated: [B, 2 x OutputSize].</summary>
    MeanAndMax,

    /// <summary>
    /// The output at each row's last step, then the mean and the maximum over the row's steps, concatenated:
    /// [B, 3 x OutputSize]. The head sees both what the memory holds at the end (aligned patterns) and where a pattern
    /// occurred anywhere (shifted ones).
    /// </summary>
    LastStepMeanAndMax,
}
