using Microsoft.ML.Transforms;

namespace Lmu.MLNet;

/// <summary>
/// Stateless CustomMapping that turned the ONNX graph's [1] predicted-class output into a scalar in classifier zips
/// written by earlier versions (ML.NET cannot read rank-0 ONNX outputs). ML.NET saves only the contract name and this
/// assembly's name, and finds this factory again at Model.Load, so it stays for those zips; new zips use
/// <see cref="Classification.SlotToScalarKey"/>, made of ML.NET's own transforms, and load without this assembly.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class SingleSlotTextMappingFactory : CustomMappingFactory<SingleSlotText, ScalarText>
{
    /// <summary>The contract name written into saved models; never change it (saved models refer to it).</summary>
    public const string ContractName = "Lmu.MLNet.SingleSlotText.v1";

    /// <summary>The mapping itself.</summary>
    public static void Map(SingleSlotText input, ScalarText output) =>
        output.Value = input.Value.Length > 0 ? input.Value[0] : string.Empty;

    /// <inheritdoc />
    public override Action<SingleSlotText, ScalarText> GetMapping() => Map;
}
