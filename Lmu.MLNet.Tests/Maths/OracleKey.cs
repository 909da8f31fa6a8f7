using System.Text.Json;
using Lmu.MLNet.Maths;

namespace Lmu.MLNet.Tests.Maths;

/// <summary>Reads the (order, theta, method) key shared by the oracle's discrete and impulse cases.</summary>
internal static class OracleKey
{
    internal static (int Order, double Theta, LmuDiscretizer Method) Read(JsonElement c)
    {
        var method = c.GetProperty("method").GetString() switch
        {
            "zoh" => LmuDiscretizer.Zoh,
            "euler" => LmuDiscretizer.Euler,
            var other => throw new AssertFailedException($"Unknown oracle method '{other}'."),
        };
        return (c.GetProperty("order").GetInt32(), c.GetProperty("theta").GetDouble(), method);
    }
}
