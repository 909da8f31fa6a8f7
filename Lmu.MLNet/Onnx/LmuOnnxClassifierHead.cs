namespace Lmu.MLNet.Onnx;

/// <summary>
/// Classifier outputs over the logits: softmax Score (annotated with class names for ML.NET), arg-max index and
/// predicted class name (index -1 and an empty name for a row whose scores are NaN).
/// </summary>
internal static class LmuOnnxClassifierHead
{
    /// <summary>Adds the outputs chosen in <paramref name="c"/>.</summary>
    /// <param name="g">Main graph.</param>
    /// <param name="publish">Publishes graph outputs in the chosen batch layout.</param>
    /// <param name="logits">Logits [N, K].</param>
    /// <param name="classes">K.</param>
    /// <param name="c">Output names and class names.</param>
    public static void Build(OnnxGraphBuilder g, LmuOnnxOutputPublisher publish, string logits, int classes, LmuOnnxClassifierOutputs c)
    {
        if (c.ClassNames.Count != classes)
        {
            throw new ArgumentException($"{c.ClassNames.Count} class names for {classes} network outputs.");
        }

        var names = c.ClassNames.ToArray();
        var score = g.Op("Softmax", [logits], OnnxAttribute.Int("axis", 1));
        publish.Float(c.ScoreName, score, classes);
        LmuOnnxSlotNames.Add(g, c.ScoreName, names);

        if (c.PredictedIndexName is null && c.PredictedClassName is null)
        {
            return;
        }

        // Arg-max of the logits equals that of the softmax; keepdims gives [N, 1] (ML.NET cannot read rank-0 outputs).
        var index = NoIndexWhereNaN(g, score, classes, g.Op("ArgMax", [logits], OnnxAttribute.Int("axis", 1), OnnxAttribute.Int("keepdims", 1)));
        if (c.PredictedIndexName is not null)
        {
            publish.Value(c.PredictedIndexName, index, OnnxElementType.Int64, 1);
        }

        if (c.PredictedClassName is not null)
        {
            var label = g.Fresh("class");
            g.Add(
                "LabelEncoder",
                [index],
                [label],
                [
                    OnnxAttribute.Ints("keys_int64s", Enumerable.Range(0, classes).Select(i => (long)i).ToArray()),
                    OnnxAttribute.Strings("values_strings", names),
                    OnnxAttribute.String("default_string", string.Empty),
                ],
                OnnxModelWriter.MlDomain);
            publish.Value(c.PredictedClassName, label, OnnxElementType.String, 1);
        }
    }

    // ArgMax over NaN logits answers 0, i.e. a confident first class for a row that has no score at all (NaN or
    // Infinity in its features). A row whose scores hold NaN gets index -1 instead: no class name (the LabelEncoder's
    // default, an empty string), so ML.NET's PredictedLabel is the missing key 0. The sum of the scores (one MatMul with
    // ones) is NaN exactly when a score is, softmax outputs being in [0, 1] otherwise.
    private static string NoIndexWhereNaN(OnnxGraphBuilder g, string score, int classes, string index)
    {
        var sum = g.Op("MatMul", [score, g.Floats("ones", Enumerable.Repeat(1f, classes).ToArray(), classes, 1)]);
        return g.Op("Where", [g.Op("IsNaN", [sum]), g.Int64s("no_class", -1), index]);
    }
}
