using System.Net;
using System.Text.Json;
using Lmu.MLNet.Tests.Infrastructure;
using Lmu.MLNet.Tests.MLNet.Classification;

namespace Lmu.MLNet.Tests.Samples;

/// <summary>
/// <c>serve</c> with a classifier trained with a sequence-length column of each type the classifier accepts: the length
/// is a required JSON number of that type, answers equal this process's scoring of the same zip bit for bit, and a
/// value the type cannot hold gets 400 naming the field and the range.
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
        await served.AssertBadRequest($"{{\"Features\": {features}}}", "Missing field 'Length'");
        if (type == "Single")
        {
            await served.AssertBadRequest($"{{\"Features\": {features}, \"Length\": \"8\"}}", "'Length' must be a finite number; got a JSON String");
        }
        else
        {
            // A whole number written as 8.0 is still 8; 2.5 and values outside the type are refused.
            var (status, body) = await served.PredictAsync(new Dictionary<string, object> { ["Features"] = model.Rows[0].Features, ["Length"] = 8.0 });
            Assert.AreEqual(HttpStatusCode.OK, status, body.ToString());
            var range = type switch { "Int32" => "from -2147483648 to 2147483647", "UInt32" => "from 0 to 4294967295", _ => "from -9223372036854775808 to 9223372036854775807" };
            await served.AssertBadRequest($"{{\"Features\": {features}, \"Length\": 2.5}}", $"Field 'Length' must be a whole number {range} ({type}); got 2.5");
            await served.AssertBadRequest($"{{\"Features\": {features}, \"Length\": 1e19}}", $"Field 'Length' must be a whole number {range} ({type}); got 1e19");
        }

        Assert.IsFalse(SamplesApp.TorchLoaded(served.Process.Id), "the service process must not load libtorch");
    }
}
