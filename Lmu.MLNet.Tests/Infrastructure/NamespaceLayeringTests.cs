using System.Text.RegularExpressions;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>
/// The TorchSharp modules and the ONNX writer meet only through the plain-data network description
/// (Lmu.MLNet/Network): neither folder's sources name the other's namespace (a using, a qualified name or a
/// parent-relative <c>Modules.</c>/<c>Onnx.</c> prefix), so the ONNX side never loads torch types and the modules never
/// depend on the graph writer. Read from the sources, so method bodies count too.
/// </summary>
[TestClass]
public sealed class NamespaceLayeringTests
{
    [TestMethod]
    [DataRow("Onnx", "Modules")]
    [DataRow("Modules", "Onnx")]
    [DataRow("Network", "Modules")]
    [DataRow("Network", "Onnx")]
    public void AFolderDoesNotReferenceTheOther(string folder, string forbidden)
    {
        var dir = Path.Combine(ConsumerProject.RepositoryRoot(), "Lmu.MLNet", folder);
        var files = Directory.GetFiles(dir, "*.cs");
        Assert.IsNotEmpty(files, dir);
        var pattern = new Regex($@"(?<![\w.])(Lmu\.MLNet\.)?{forbidden}(\.\w|\s*;)", RegexOptions.CultureInvariant);
        var offending = files
            .SelectMany(f => File.ReadAllLines(f).Select((line, i) => (File: Path.GetFileName(f), Line: i + 1, Text: line)))
            .Where(l => !l.Text.TrimStart().StartsWith("///", StringComparison.Ordinal) && pattern.IsMatch(l.Text))
            .Select(l => $"{l.File}:{l.Line}: {l.Text.Trim()}")
            .ToList();
        Assert.IsEmpty(offending, $"Lmu.MLNet/{folder} references {forbidden}:\n" + string.Join("\n", offending));
    }
}
