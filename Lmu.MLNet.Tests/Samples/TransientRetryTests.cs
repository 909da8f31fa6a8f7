using Lmu.MLNet.Samples.Serving;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// <see cref="TransientRetry"/>: a call refused for a passing reason is sent again up to <see cref="TransientRetry.Attempts"/>
/// times, then answered 503 (and counted once); any other failure goes up at once, not repeated.
/// </summary>
[TestClass]
public sealed class TransientRetryTests
{
    private sealed class Refused : Exception;

    [TestMethod]
    public async Task ACallRefusedTwiceIsAnsweredByTheThirdAttempt()
    {
        var calls = 0;
        var exhausted = 0;
        var result = await TransientRetry.CallAsync(() => ++calls < 3 ? throw new Refused() : Task.FromResult(calls), e => e is Refused, "series 'a'", _ => exhausted++);
        Assert.AreEqual(3, result);
        Assert.AreEqual(3, calls);
        Assert.AreEqual(0, exhausted);
    }

    [TestMethod]
    public async Task ACallRefusedEveryTimeIsUnavailableAfterTheLastAttempt()
    {
        var calls = 0;
        Exception? last = null;
        var e = await Assert.ThrowsExactlyAsync<ServingUnavailableException>(
            () => TransientRetry.CallAsync<int>(() => { calls++; throw new Refused(); }, e => e is Refused, "series 'a'", x => last = x));
        Assert.AreEqual(TransientRetry.Attempts, calls);
        Assert.IsInstanceOfType<Refused>(last);
        Assert.AreEqual("The call for series 'a' was refused 5 times while other calls changed it (Refused); send it again.", e.Message);
    }

    [TestMethod]
    public async Task AnyOtherFailureGoesUpAtOnce()
    {
        var calls = 0;
        await Assert.ThrowsExactlyAsync<InvalidOperationException>(
            () => TransientRetry.CallAsync<int>(() => { calls++; throw new InvalidOperationException("broken"); }, e => e is Refused, "series 'a'"));
        Assert.AreEqual(1, calls);
    }
}
