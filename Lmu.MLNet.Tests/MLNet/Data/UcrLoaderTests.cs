using Lmu.MLNet.Tests.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Tests.MLNet.Data;

/// <summary>UCR/UEA loaders on generated files, the archive's tiny UnitTest set, and the official 1-NN Euclidean errors.</summary>
[TestClass]
public sealed class UcrLoaderTests
{
    private string _dir = string.Empty;

    [TestInitialize]
    public void MakeDir()
    {
        _dir = Path.Combine(Path.GetTempPath(), "lmu-ucr-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_dir);
    }

    [TestCleanup]
    public void RemoveDir() => Directory.Delete(_dir, recursive: true);

    [TestMethod]
    public void TsvReadsLabelFirstAndSortsNumericLabels()
    {
        var path = Write("Toy_TRAIN.tsv", "10\t1.5\t-2\t3e-1\n2.0\t4\t5\t6\n-1\t7\t8\tNaN\n");
        var d = UcrLoader.Load(path);
        Assert.AreEqual("Toy", d.Name);
        Assert.AreEqual(1, d.Channels);
        CollectionAssert.AreEqual(new[] { "-1", "2", "10" }, d.ClassLabels.ToArray());
        CollectionAssert.AreEqual(new[] { "10", "2", "-1" }, d.Rows.Select(r => r.Label).ToArray());
        CollectionAssert.AreEqual(new[] { 1.5f, -2f, 0.3f }, d.Rows[0].Values);
        Assert.AreEqual(2, d.Rows[2].Length, "trailing NaN is padding");
        CollectionAssert.AreEqual(new[] { 2, 1, 0 }, d.LabelIndices());
    }

    [TestMethod]
    public void TsReadsMultivariateVariableLengthTimeMajor()
    {
        var path = Write("Mv_TEST.ts", """
            # comment
            @problemName Mv
            @timeStamps false
            @univariate false
            @dimensions 2
            @equalLength false
            @classLabel true b a
            @data
            1,2,3:10,20,30:a
            4,5:40,50:b
            """);
        var d = UcrLoader.Load(path);
        Assert.AreEqual(2, d.Channels);
        CollectionAssert.AreEqual(new[] { "b", "a" }, d.ClassLabels.ToArray(), "declared order is the key order");
        CollectionAssert.AreEqual(new[] { 1f, 10f, 2f, 20f, 3f, 30f }, d.Rows[0].Values);
        Assert.AreEqual(2, d.Rows[1].Length);
        Assert.IsFalse(d.EqualLength);
        Assert.AreEqual(3, d.MaxLength);

        var (values, lengths) = d.Padded(3);
        CollectionAssert.AreEqual(new[] { 1f, 10f, 2f, 20f, 3f, 30f, 4f, 40f, 5f, 50f, 0f, 0f }, values);
        CollectionAssert.AreEqual(new[] { 3, 2 }, lengths);
        CollectionAssert.AreEqual(new[] { 0f, 0f, 4f, 40f, 5f, 50f }, d.Padded(3, rightAlign: true).Values[6..]);

        var ml = new MLContext(seed: 1);
        var view = d.ToDataView(ml, steps: 2);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single, 4), view.Schema["Features"].Type);
        CollectionAssert.AreEqual(new[] { 2f, 2f }, view.GetColumn<float>("Length").ToArray(), "longer rows are cut to the requested steps");
        CollectionAssert.AreEqual(new[] { 4f, 40f, 5f, 50f }, view.GetColumn<float[]>("Features").ElementAt(1));
    }

    [TestMethod]
    public void MalformedFilesNameTheFileAndLine()
    {
        var e = Assert.ThrowsExactly<InvalidDataException>(() => UcrLoader.Load(Write("Bad_TRAIN.tsv", "1\t2\n1\tx\n")));
        StringAssert.Contains(e.Message, "line 2");
        StringAssert.Contains(e.Message, "'x'");
        e = Assert.ThrowsExactly<InvalidDataException>(() => UcrLoader.Load(Write("Bad_TRAIN.ts", "@classLabel true a\n@data\n1,2:3:a\n")));
        StringAssert.Contains(e.Message, "different lengths");
        e = Assert.ThrowsExactly<InvalidDataException>(() => UcrLoader.Load(Write("Bad2_TRAIN.ts", "@classLabel true a\n@data\n1:3:a\n1:b\n")));
        StringAssert.Contains(e.Message, "line 4");
        Assert.ThrowsExactly<NotSupportedException>(() => UcrLoader.Load(Write("Stamp_TRAIN.ts", "@timeStamps true\n@data\n")));
        // Empty files named no file ("steps ('0') must be greater than or equal to '1'"; found by QA).
        var empty = Write("Empty_TRAIN.tsv", "\n\n");
        Assert.AreEqual($"'{empty}': the file has no series (no non-blank line).", Assert.ThrowsExactly<InvalidDataException>(() => UcrLoader.Load(empty)).Message);
        var noCases = Write("Empty_TRAIN.ts", "@classLabel true a\n@data\n");
        Assert.AreEqual($"'{noCases}': the @data section holds no series.", Assert.ThrowsExactly<InvalidDataException>(() => UcrLoader.Load(noCases)).Message);
        var missing = Assert.ThrowsExactly<FileNotFoundException>(() => UcrLoader.LoadSplit(_dir, "Nothing"));
        StringAssert.Contains(missing.Message, "Nothing_TRAIN");
        var unknown = new TimeSeriesDataset("x", 1, ["a"], [new TimeSeriesRow("z", [1f], 1)]);
        StringAssert.Contains(Assert.ThrowsExactly<InvalidDataException>(() => unknown.LabelIndices()).Message, "'z'");
    }

    [TestMethod]
    public void TsLabelsAndValuesAreCheckedOnTheLineThatHasThem()
    {
        // Found by the fuzzing QA: each of these passed the loader and failed later naming no file, or not at all.
        string Refused(string name, string text) => Assert.ThrowsExactly<InvalidDataException>(() => UcrLoader.Load(Write(name, text))).Message;
        var twice = Refused("Twice_TRAIN.ts", "@classLabel true 1 1.0 2\n@data\n1,2:1\n");
        StringAssert.Contains(twice, "line 1: @classLabel lists the class '1' twice ('1' and '1.0' are the same whole number, read as one class)");
        StringAssert.Contains(Refused("Undeclared_TRAIN.ts", "@classLabel true a b\n@data\n1,2:a\n1,2:z\n"), "line 4: class label 'z' is not among the @classLabel classes (a, b)");
        StringAssert.Contains(Refused("Huge_TRAIN.ts", "@classLabel true a\n@data\n1,1e39:a\n"), "line 3, dimension 1, value 2: '1e39' is not a finite number");
        StringAssert.Contains(Refused("Inf_TRAIN.ts", "@classLabel true a\n@data\n1,2:3,Infinity:a\n"), "line 3, dimension 2, value 2: 'Infinity' is not a finite number");
        // Every spelling of NaN is a missing value, as "?" is (regression QA: "NAN" and C's "-nan" were refused).
        var nans = UcrLoader.Load(Write("Nans_TRAIN.tsv", "1\t1\tNAN\t3\n2\t4\t-nan\t-NaN\n"));
        Assert.IsTrue(float.IsNaN(nans.Rows[0].Values[1]));
        Assert.AreEqual(1, nans.Rows[1].Length, "trailing NaNs are padding");
        StringAssert.Contains(Refused("AllMissing_TRAIN.ts", "@classLabel true a\n@data\n?,?:a\n"), "line 3: every value of the series is missing");

        // Missing values after every dimension's last value shorten the series, as trailing NaNs do in .tsv; one before
        // the end stays NaN for the caller.
        var d = UcrLoader.Load(Write("Trailing_TRAIN.ts", "@classLabel true a b\n@data\n1,2,?,?:3,?,?,?:a\n1,?,3,4:5,6,7,8:b\n"));
        Assert.AreEqual(2, d.Rows[0].Length, "the longer dimension's last value ends the series");
        CollectionAssert.AreEqual(new[] { 1f, 3f, 2f, float.NaN }, d.Rows[0].Values);
        Assert.AreEqual(4, d.Rows[1].Length);
        Assert.IsTrue(float.IsNaN(d.Rows[1].Values[2]), "a hole stays NaN");
    }

    [TestMethod]
    public void UnitTestSetLoads()
    {
        var (train, test) = UcrLoader.LoadSplit(Path.Combine(SharedData.Directory("ucr"), "UnitTest"), "UnitTest");
        Assert.HasCount(20, train.Rows);
        Assert.HasCount(22, test.Rows);
        Assert.AreEqual(24, train.MaxLength);
        Assert.IsTrue(train.EqualLength && test.EqualLength);
        CollectionAssert.AreEqual(new[] { "1", "2" }, train.ClassLabels.ToArray());
        Assert.AreEqual(573f, train.Rows[0].Values[0]);
        Assert.AreEqual(182f, train.Rows[0].Values[23]);
        Assert.AreEqual(10, train.Rows.Count(r => r.Label == "1"));
    }

    [TestMethod]
    public void MultivariateAndVariableLengthSetsLoad()
    {
        var ucr = SharedData.Directory("ucr");
        var (bm, _) = UcrLoader.LoadSplit(Path.Combine(ucr, "BasicMotions"), "BasicMotions");
        Assert.AreEqual(6, bm.Channels);
        Assert.AreEqual(100, bm.MaxLength);
        Assert.HasCount(40, bm.Rows);
        CollectionAssert.AreEqual(new[] { "Standing", "Running", "Walking", "Badminton" }, bm.ClassLabels.ToArray());
        Assert.AreEqual(0.079106f, bm.Rows[0].Values[0], "step 0, dimension 0");

        var (jv, jvTest) = UcrLoader.LoadSplit(Path.Combine(ucr, "JapaneseVowels"), "JapaneseVowels");
        Assert.AreEqual(12, jv.Channels);
        Assert.HasCount(270, jv.Rows);
        Assert.HasCount(370, jvTest.Rows);
        Assert.IsFalse(jv.EqualLength);
        Assert.IsTrue(jv.Rows.All(r => r.Length is >= 7 and <= 29));
        Assert.AreEqual(1.860936f, jv.Rows[0].Values[0]);
        Assert.AreEqual(-0.207383f, jv.Rows[0].Values[1], "time-major: slot 1 is dimension 1 at step 0");
    }

    [TestMethod]
    [DataRow("GunPoint", 0.0867)]
    [DataRow("ItalyPowerDemand", 0.0447)]
    public void OneNearestNeighbourEuclideanReproducesTheOfficialError(string name, double officialError)
    {
        var (train, test) = UcrLoader.LoadSplit(Path.Combine(SharedData.Directory("ucr"), name), name);
        var error = 1 - NearestNeighbourBaseline.Accuracy(train, test);
        // The archive publishes errors to 4 decimals.
        Assert.AreEqual(officialError, Math.Round(error, 4), 1e-12, $"{name}: 1-NN ED error {error}");
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }
}
