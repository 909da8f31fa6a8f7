namespace Lmu.MLNet.Modules;

/// <summary>How a <see cref="HiddenCellModule"/>'s kernels start and whether they train.</summary>
/// <param name="InputKernel">Initialiser of W_ih (the kernel reading z_t = [memory, x_t?]).</param>
/// <param name="RecurrentKernel">Initialiser of W_hh.</param>
/// <param name="TrainableInputKernel">Whether W_ih trains.</param>
/// <param name="TrainableRecurrentKernel">Whether W_hh trains.</param>
internal sealed record HiddenCellInit(LmuInitializer InputKernel, LmuInitializer RecurrentKernel, bool TrainableInputKernel, bool TrainableRecurrentKernel)
{
    /// <summary>PyTorch's recurrent-cell defaults (<see cref="LmuInitializer.RecurrentUniform"/>), everything trained.</summary>
    public static HiddenCellInit Default { get; } = new(LmuInitializer.RecurrentUniform, LmuInitializer.RecurrentUniform, true, true);
}
