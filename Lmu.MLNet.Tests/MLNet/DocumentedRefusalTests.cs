using Lmu.MLNet.Classification;
using Lmu.MLNet.Experiments;
using Lmu.MLNet.Forecasting;
using Lmu.MLNet.Modules;
using Lmu.MLNet.Tests.MLNet.Classification;
using Microsoft.ML;

namespace Lmu.MLNet.Tests.MLNet;

/// <summary>
/// Settings the API QA found accepted and failing later in other words (or silently): each is refused before any work,
/// naming the setting and its value.
/// </summary>
[TestClass]
public sealed class DocumentedRefusalTests : ClassifierTestBase
{
    [TestMethod]
    public void AForecastersBlankColumnNamesAreNamedAtValidation()
    {
        // They passed and failed at Fit inside ML.NET: "Value cannot be null. (Parameter 'name')".
        foreach (var (change, expected) in new (Action<LmuForecastingOptions>, string)[]
        {
            (o => o.CovariateColumnNames = ["Cov0", ""], "LmuForecastingOptions.CovariateColumnNames[1] = \"\" must name a column"),
            (o => o.CovariateColumnNames = [null!], "LmuForecastingOptions.CovariateColumnNames[0] = null must name a column"),
            (o => o.SeriesColumnName = " ", "LmuForecastingOptions.SeriesColumnName = \" \" must be null or name a column"),
            (o => o.SeriesIdColumnName = "", "LmuForecastingOptions.SeriesIdColumnName = \"\" must be null or name a column"),
            (o => (o.LowerBoundColumnName, o.UpperBoundColumnName) = ("", "Upper"), "LmuForecastingOptions.LowerBoundColumnName = \"\" must be null or name a column"),
        })
        {
            var options = new LmuForecastingOptions { SeriesColumnName = "Value", WindowSize = 8, Horizon = 2 };
            change(options);
            var e = Assert.ThrowsExactly<ArgumentException>(options.Validate);
            StringAssert.Contains(e.Message, expected);
        }
    }

    [TestMethod]
    public void AnOrderAboveTheLargestIsRefusedBeforeTheLayerIsBuilt()
    {
        // Nothing bounded it: order 2,000 took 95 s to build (out of a CancellationToken's reach), 3,000 over 200 s.
        new LmuLayerOptions { Order = LmuLayerOptions.MaxOrder }.Validate();
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuLayerOptions { Order = LmuLayerOptions.MaxOrder + 1 }.Validate());
        StringAssert.Contains(e.Message, "Order = 1025 must be from 1 to 1024");
        var classifier = new LmuClassifierOptions { Layer = new LmuLayerOptions { Order = 3000 } };
        e = Assert.ThrowsExactly<ArgumentException>(() => new MLContext(1).Transforms.LmuClassifier(classifier));
        StringAssert.Contains(e.Message, "Order = 3000 must be from 1 to 1024");
    }

    [TestMethod]
    public void AHeadTooLargeToAllocateIsNamedBeforeTraining()
    {
        // int.MaxValue failed in libtorch's words (an ExternalException with a C++ stack trace). A readout of 2^20 values
        // into a head layer of 2^31 - 1 units asks for about 8 PiB, beyond any address space, so no machine or overcommit
        // mode grants it (review: 128 GiB could be granted and touched on a large build host).
        var ml = ClassifierSetup.Context(MlTemp);
        var options = ClassifierSetup.Parallel(epochs: 1);
        options.Layer = new LmuLayerOptions { MemoryD = 16_384, Order = 64, HiddenCell = HiddenCell.None };
        options.HeadHiddenSizes = [int.MaxValue];
        var epochs = 0;
        options.Progress = new Inline(_ => epochs++);
        var e = Assert.ThrowsExactly<InsufficientMemoryException>(() => ml.Transforms.LmuClassifier(options).Fit(ml.Data.LoadFromEnumerable(DelayedPatternData.Rows(40, 3))));
        StringAssert.Contains(e.Message, "The network's weights could not be allocated");
        StringAssert.Contains(e.Message, $"head [{int.MaxValue}]");
        StringAssert.Contains(e.Message, "Reduce HiddenUnits, HeadHiddenSizes, MemoryD or Order");
        Assert.AreEqual(0, epochs, "refused before training");
        Assert.IsEmpty(Directory.GetFiles(MlTemp), "nothing left in the temp folder");
    }

    [TestMethod]
    public void AnExperimentsUnknownDeviceIsRefusedAtValidation()
    {
        // It passed, and every network trial then failed on it while the search went on to return a ridge model.
        var e = Assert.ThrowsExactly<ArgumentException>(() => new LmuExperimentSettings { Device = "bogus" }.Validate());
        StringAssert.Contains(e.Message, "Device must be null or name a device (cpu, cuda, cuda:N) but was \"bogus\"");
        new LmuExperimentSettings { Device = "cpu" }.Validate();
    }

    [TestMethod]
    public void FileLimitsThatCannotHoldAreNamed()
    {
        // A NaN ratio turned the zip-bomb check off; a negative limit refused every file, blaming the file.
        // Checked before the file: a missing one would say so instead.
        var zip = Path.Combine(Temp, "absent.zip");
        foreach (var (limits, expected) in new (LmuModelFileLimits, string)[]
        {
            (new LmuModelFileLimits { MaxCompressionRatio = double.NaN }, "LmuModelFileLimits.MaxCompressionRatio = NaN must be a finite number of at least 1"),
            (new LmuModelFileLimits { MaxEntryBytes = -1 }, "LmuModelFileLimits.MaxEntryBytes = -1 must be positive"),
            (new LmuModelFileLimits { MaxEntries = 0 }, "LmuModelFileLimits.MaxEntries = 0 must be positive"),
        })
        {
            var e = Assert.ThrowsExactly<ArgumentException>(() => LmuModelFile.Load(new MLContext(1), zip, out _, out _, limits));
            StringAssert.Contains(e.Message, expected);
        }
    }

    [TestMethod]
    public void AModelZipGivenToTheCheckpointLoaderIsToldWhichLoadReadsIt()
    {
        var zip = Path.Combine(Temp, "model.zip");
        using (var archive = System.IO.Compression.ZipFile.Open(zip, System.IO.Compression.ZipArchiveMode.Create))
        {
            archive.CreateEntry("Schema");
        }

        var e = Assert.ThrowsExactly<InvalidDataException>(() => LmuForecastEngine.Load(zip));
        StringAssert.Contains(e.Message, "is a zip, not an LMU forecast engine checkpoint");
        StringAssert.Contains(e.Message, "LmuForecastEngineModel.Load(path).CreateEngine()");
    }
}
