namespace Lmu.MLNet.Samples.Cli;

/// <summary>The models <c>lmu classify --model</c> offers.</summary>
internal enum ClassifierKind
{
    /// <summary>LmuPooledFeaturize at its defaults + the leave-one-out ridge: the README's best fixed configuration on the UCR table (the default).</summary>
    Pooled,

    /// <summary>The LMU classifier network at the UCR table's fixed configuration.</summary>
    Lmu,

    /// <summary>The AutoML-style LMU experiment over both families within <c>--budget</c> seconds.</summary>
    Experiment,
}
