using System.Xml.Linq;

namespace Lmu.MLNet.Tests.Infrastructure;

/// <summary>
/// What the tests that build a fresh application share: the repository root, the versions it pins centrally, and the
/// project file of a console app for this host that references only the given packages.
/// </summary>
internal static class ConsumerProject
{
    /// <summary>The folder holding Lmu.MLNet.sln above the test binaries.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lmu.MLNet.sln"))) return dir.FullName;
        }

        Assert.Fail($"no Lmu.MLNet.sln above {AppContext.BaseDirectory}");
        return string.Empty;
    }

    /// <summary>Package id -> version from Directory.Packages.props.</summary>
    public static IReadOnlyDictionary<string, string> PinnedVersions(string root) =>
        XDocument.Load(Path.Combine(root, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(p => p.Attribute("Include")!.Value, p => p.Attribute("Version")!.Value);

    /// <summary>Writes <paramref name="folder"/>/Consumer.csproj: a net10.0 linux-x64 console app with these references.</summary>
    public static void Write(string folder, IEnumerable<(string Id, string Version)> packages)
    {
        var references = string.Join("\n", packages.Select(p => $"    <PackageReference Include=\"{p.Id}\" Version=\"{p.Version}\" />"));
        File.WriteAllText(Path.Combine(folder, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <RuntimeIdentifier>linux-x64</RuntimeIdentifier>
                <SelfContained>false</SelfContained>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
            {references}
              </ItemGroup>
            </Project>
            """);
    }
}
