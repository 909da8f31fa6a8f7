namespace Lmu.MLNet.Experiments;

/// <summary>How the experiment's final choice was made (carried into <see cref="LmuExperimentResult"/>).</summary>
/// <param name="Default">Trial 0 when the default ran and completed.</param>
/// <param name="Challenger">The best finalist compared with the default.</param>
/// <param name="Improvement">Challenger minus default, mean over the shared folds (positive: challenger better).</param>
/// <param name="ImprovementStandardError">Corrected standard error of <paramref name="Improvement"/>.</param>
internal sealed record LmuExperimentSelection(LmuTrialResult? Default, LmuTrialResult? Challenger, double? Improvement, double? ImprovementStandardError);
