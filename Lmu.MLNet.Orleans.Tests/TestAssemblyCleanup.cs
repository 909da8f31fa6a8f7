namespace Lmu.MLNet.Orleans.Tests;

[TestClass]
public static class TestAssemblyCleanup
{
    [AssemblyCleanup]
    public static void RemoveModelFiles() => FleetModels.Remove();
}
