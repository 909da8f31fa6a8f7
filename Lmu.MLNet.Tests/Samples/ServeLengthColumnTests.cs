using System.Net;
using System.Text.Json;
using Lmu.MLNet.Samples.Serving;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// <c>serve</c> with a classifier trained with a sequence-length column of each type the classifier accepts: the length
/// is a required JSON number of that type, answers equal this process's scoring of the same zip bit for bit, and a
/// value that is not a length of the model (a whole number from 1 to T, the rule of <c>predict</c>) gets 400 naming
/// the field and the range.
/// </summary>
[TestClass]
public sealed class ServeLengthColumnTests : ClassifierTestBase
{
    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    [DataRow("Single")]
    [DataRow("Int32")]
    [DataRow("UInt32")]
    [DataRow("Int64")]
    public async Task ALengthColumnOfEachTypeIsServedAndScoresAsOffline(string type)
    {
        var zip = Path.Combine(Temp, "m.zip");
        var model = LengthClassifierZip.Create(ClassifierSetup.Context(MlTemp), type, zip, testRows: 12);
        await using var served = await ServeProcess.StartAsync(zip, Temp);

        var length = (await served.DescribeAsync()).GetProperty("inputs").EnumerateArray().Single(i => i.GetProperty("name").GetString() == "Length");
        Assert.AreEqual(type, length.GetProperty("type").GetString());
        Assert.IsTrue(length.GetProperty("required").GetBoolean(), "the model cannot score without its length column");

        for (var i = 0; i < model.Rows.Count; i++)
        {
            var row = model.Rows[i];
            var (status, body) = await served.PredictAsync(new Dictionary<string, object> { ["Features"] = row.Features, ["Length"] = row.Length });
            Assert.AreEqual(HttpStatusCode.OK, status, body.ToString());
            // System.Text.Json writes floats in their shortest round-trip form, so equality here is bit equality.
            CollectionAssert.AreEqual(model.Scores[i], body.GetProperty("Score").EnumerateArray().Select(v => v.GetSingle()).ToArray(), $"row {i} (length {row.Length})");
        }

        var features = JsonSerializer.Serialize(model.Rows[0].Features);
        var steps = model.Rows[0].Features.Length;
        Assert.AreEqual(steps, length.GetProperty("maxLength").GetInt32(), "GET /model states the length's bound T (one channel)");
        await served.AssertBadRequest($"{{\"Features\": {features}}}", $"Missing field 'Length': the sequence length, a whole number from 1 to {steps}.");

        // A whole number written as 8.0 is still 8, and T itself is a length; whatever the column's type, predict's rule
        // holds: 0, T + 1 and 2.5 are refused (the carried graph would clamp them and answer 200), as are non-numbers.
        foreach (var good in new object[] { 8.0, steps })
        {
            var (status, body) = await served.PredictAsync(new Dictionary<string, object> { ["Features"] = model.Rows[0].Features, ["Length"] = good });
            Assert.AreEqual(HttpStatusCode.OK, status, $"Length {good}: {body}");
        }

        foreach (var bad in new[] { "0", (steps + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "2.5", "-3", "1e19", "\"8\"" })
        {
            var got = bad.StartsWith('"') ? "a JSON String" : bad;
            await served.AssertBadRequest($"{{\"Features\": {features}, \"Length\": {bad}}}", $"Field 'Length' must be the sequence length, a whole number from 1 to {steps}; got {got}.");
        }

        Assert.IsFalse(SamplesApp.TorchLoaded(served.Process.Id), "the service process must not load libtorch");
    }

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task TheChannelsBoundTheLengthAndMustDivideTheWidth()
    {
        var zip = Path.Combine(Temp, "m.zip");
        var model = LengthClassifierZip.Create(ClassifierSetup.Context(MlTemp), "Int32", zip, testRows: 1);
        var width = model.Rows[0].Features.Length;
        Assert.AreEqual(0, width % 2, "the test reads the features as two channels");
        using (var service = new ModelService(zip, poolSize: 1, channels: 2))
        {
            Assert.AreEqual(width / 2, service.Inputs.Single(c => c.Name == "Length").MaxLength);
            Assert.IsNull(service.Inputs.Single(c => c.Name == "Features").MaxLength);
            using var ok = JsonDocument.Parse($"{{\"Features\": {JsonSerializer.Serialize(model.Rows[0].Features)}, \"Length\": {width / 2}}}");
            Assert.IsNotNull(await service.PredictAsync(ok.RootElement, CancellationToken.None));
            using var over = JsonDocument.Parse($"{{\"Features\": {JsonSerializer.Serialize(model.Rows[0].Features)}, \"Length\": {(width / 2) + 1}}}");
            var e = await Assert.ThrowsAsync<ServingRequestException>(() => service.PredictAsync(over.RootElement, CancellationToken.None));
            StringAssert.Contains(e.Message, $"a whole number from 1 to {width / 2}; got {(width / 2) + 1}");
        }

        var refused = Assert.Throws<InvalidDataException>(() => new ModelService(zip, poolSize: 1, channels: width + 1));
        Assert.AreEqual($"--channels {width + 1}: the features column 'Features' holds {width} values, which is not a positive multiple of it.", refused.Message);
    }
}
