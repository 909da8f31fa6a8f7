using System.Net;
using System.Net.Sockets;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// The embedded silo's ports are checked before anything is trained or loaded, naming the option (fleet QA: a silo port
/// in use made serve --series blame --urls, whose port was free, after three Orleans stack traces, and fleet print a
/// bare AddressInUseException; one port for silo and gateway was accepted).
/// </summary>
[TestClass]
public sealed class FleetPortTests : ClassifierTestBase
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    [TestMethod]
    public void APortInUseOrSharedIsRefusedNamingItsOption()
    {
        using var held = new TcpListener(IPAddress.Loopback, 0);
        held.Start();
        var busy = ((IPEndPoint)held.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var free = FreePort();
        // The model files do not exist: the ports are checked first.
        var model = Path.Combine(Temp, "absent.zip");

        var (code, log) = SamplesApp.Run(SamplesApp.Output(), Temp, Limit, "serve", "--model", model, "--series", "--urls", "http://127.0.0.1:0", "--silo-port", busy, "--gateway-port", free);
        Assert.AreEqual(2, code, log);
        StringAssert.Contains(log, $"--silo-port {busy}: the embedded Orleans silo cannot listen there (");
        Assert.DoesNotContain("--urls", log);

        (code, log) = SamplesApp.Run(SamplesApp.Output(), Temp, Limit, "fleet", "--model", model, "--silo-port", free, "--gateway-port", busy);
        Assert.AreEqual(2, code, log);
        StringAssert.Contains(log, $"--gateway-port {busy}: the embedded Orleans client gateway cannot listen there (");

        (code, log) = SamplesApp.Run(SamplesApp.Output(), Temp, Limit, "fleet", "--model", model, "--silo-port", free, "--gateway-port", free);
        Assert.AreEqual(2, code, log);
        StringAssert.Contains(log, $"--silo-port and --gateway-port are both {free}: the embedded silo and its client gateway each need a port of their own");
    }

    private static string FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}
