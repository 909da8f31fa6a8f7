namespace Lmu.MLNet.Classification;

/// <summary>How the label column's values become class indices.</summary>
internal enum ClassifierLabelKind
{
    /// <summary>A key: key k (1-based) is class k-1; key 0 is a missing label.</summary>
    Key,

    /// <summary>Text, numbers or booleans: distinct values, sorted, are the classes.</summary>
    Value,
}
