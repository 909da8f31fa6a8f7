using Microsoft.ML.OnnxRuntime;

namespace Lmu.MLNet.Tests.Onnx;

/// <summary>Runs ONNX bytes with ONNX Runtime directly (no ML.NET) and returns each requested float output flattened.</summary>
internal static class OnnxRunner
{
    /// <summary>Scores <paramref name="rows"/> (each of width <paramref name="width"/>) in one batch.</summary>
    public static Dictionary<string, float[]> Run(byte[] model, string input, float[] rows, int width, params string[] outputs)
    {
        using var session = new InferenceSession(model);
        using var x = OrtValue.CreateTensorValueFromMemory(rows, [rows.Length / width, width]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [input], [x], outputs);
        var map = new Dictionary<string, float[]>();
        for (var i = 0; i < outputs.Length; i++)
        {
            map[outputs[i]] = results[i].GetTensorDataAsSpan<float>().ToArray();
        }

        return map;
    }

    /// <summary>Scores a graph without a batch axis (one row [width] per run, as ML.NET runs it) row by row; outputs concatenated.</summary>
    public static float[] RunRowByRow(byte[] model, string input, float[] rows, int width, string output)
    {
        using var session = new InferenceSession(model);
        using var runOptions = new RunOptions();
        var all = new List<float>();
        for (var r = 0; r < rows.Length / width; r++)
        {
            var row = rows.AsSpan(r * width, width).ToArray();
            using var x = OrtValue.CreateTensorValueFromMemory(row, [width]);
            using var results = session.Run(runOptions, [input], [x], [output]);
            all.AddRange(results[0].GetTensorDataAsSpan<float>().ToArray());
        }

        return [.. all];
    }

    /// <summary>Scores and returns one string output.</summary>
    public static string[] RunStrings(byte[] model, string input, float[] rows, int width, string output)
    {
        using var session = new InferenceSession(model);
        using var x = OrtValue.CreateTensorValueFromMemory(rows, [rows.Length / width, width]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [input], [x], [output]);
        return results[0].GetStringTensorAsArray();
    }

    /// <summary>Scores and returns one int64 output.</summary>
    public static long[] RunInt64(byte[] model, string input, float[] rows, int width, string output)
    {
        using var session = new InferenceSession(model);
        using var x = OrtValue.CreateTensorValueFromMemory(rows, [rows.Length / width, width]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [input], [x], [output]);
        return results[0].GetTensorDataAsSpan<long>().ToArray();
    }

    /// <summary>Scores <paramref name="rows"/> with a second input of per-row lengths ([N, 1] of <typeparamref name="TLength"/>).</summary>
    public static float[] RunWithLengths<TLength>(byte[] model, string input, float[] rows, int width, string lengthInput, TLength[] lengths, string output)
        where TLength : unmanaged
    {
        using var session = new InferenceSession(model);
        using var x = OrtValue.CreateTensorValueFromMemory(rows, [rows.Length / width, width]);
        using var n = OrtValue.CreateTensorValueFromMemory(lengths, [lengths.Length, 1]);
        using var runOptions = new RunOptions();
        using var results = session.Run(runOptions, [input, lengthInput], [x, n], [output]);
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }
}
