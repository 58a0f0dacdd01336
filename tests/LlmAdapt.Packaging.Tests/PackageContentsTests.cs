using System.IO.Compression;
using System.Reflection.Metadata;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace LlmAdapt.Packaging.Tests;

/// <summary>What each package of <c>dotnet pack</c> carries: README, licence, repository and commit, symbols with SourceLink.</summary>
[Collection(PackedSolutionCollection.Name)]
public sealed partial class PackageContentsTests(PackedSolution packed, ITestOutputHelper output)
{
    private static readonly Guid s_sourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    public static TheoryData<string> Ids => [.. PackedSolution.PackageIds];

    [Theory]
    [MemberData(nameof(Ids))]
    public void Package_CarriesReadmeLicenceRepositoryAndSymbolsWithSourceLink(string id)
    {
        var nupkg = packed.PackagePath(id);
        var snupkg = packed.PackagePath(id, "snupkg");
        Assert.True(File.Exists(nupkg), $"{nupkg} was not written:\n{packed.PackOutput}");
        Assert.True(File.Exists(snupkg), $"{snupkg} (symbols) was not written");
        output.WriteLine($"{id}: {new FileInfo(nupkg).Length:N0} bytes, symbols {new FileInfo(snupkg).Length:N0} bytes");

        using var package = ZipFile.OpenRead(nupkg);
        var nuspec = XDocument.Load(package.Entries.Single(e => e.FullName == $"{id}.nuspec").Open());
        string Field(string name) => nuspec.Descendants().Single(e => e.Name.LocalName == name).Value;
        XElement Element(string name) => nuspec.Descendants().Single(e => e.Name.LocalName == name);

        Assert.Equal(packed.Version, Field("version"));
        Assert.Equal("expression", Element("license").Attribute("type")?.Value);
        Assert.Equal("MIT", Field("license"));
        Assert.Equal("README.md", Field("readme"));
        using (var readme = new StreamReader(package.GetEntry("README.md")!.Open()))
        {
            Assert.Equal(File.ReadAllText(Path.Combine(TestData.RepositoryRoot, "README.md")), readme.ReadToEnd());
        }

        Assert.True(Field("description").Length > 60, $"{id}: a description that says what the package does");
        var repository = Element("repository");
        Assert.Equal("git", repository.Attribute("type")?.Value);
        Assert.Equal(PackedSolution.RepositoryUrl, repository.Attribute("url")?.Value);
        var commit = repository.Attribute("commit")?.Value ?? string.Empty;
        Assert.Matches(CommitId(), commit);

        // Every assembly of the package has its portable PDB in the symbols package, mapping its sources to the
        // repository at the commit it was built from (in a fresh clone the nuspec's; after an incremental build an
        // assembly whose sources did not change keeps the commit it was compiled at).
        var assemblies = package.Entries.Where(e => e.FullName.EndsWith($"/{id}.dll", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(assemblies);
        using var symbols = ZipFile.OpenRead(snupkg);
        foreach (var assembly in assemblies)
        {
            var pdbName = Path.ChangeExtension(assembly.FullName, ".pdb");
            var pdb = symbols.GetEntry(pdbName);
            Assert.True(pdb is not null, $"{pdbName} is not in {Path.GetFileName(snupkg)}");
            var mappings = SourceLinkDocuments(pdb!);
            var expected = RawFiles(PackedSolution.RepositoryUrl);
            Assert.Contains(mappings.Values, url => url.StartsWith(expected, StringComparison.Ordinal)
                && CommitId().IsMatch(url[expected.Length..].Split('/')[0]) && url.EndsWith("/*", StringComparison.Ordinal));
        }
    }

    /// <summary>The raw-file URL prefix SourceLink maps a GitHub repository's files to (the commit follows).</summary>
    private static string RawFiles(string repository)
        => repository.Replace("https://github.com/", "https://raw.githubusercontent.com/", StringComparison.Ordinal).TrimEnd('/') + "/";

    private static Dictionary<string, string> SourceLinkDocuments(ZipArchiveEntry pdb)
    {
        using var copy = new MemoryStream();
        using (var stream = pdb.Open())
        {
            stream.CopyTo(copy);
        }

        copy.Position = 0;
        using var provider = MetadataReaderProvider.FromPortablePdbStream(copy);
        var reader = provider.GetMetadataReader();
        foreach (var handle in reader.CustomDebugInformation)
        {
            var information = reader.GetCustomDebugInformation(handle);
            if (reader.GetGuid(information.Kind) == s_sourceLinkKind)
            {
                var json = Encoding.UTF8.GetString(reader.GetBlobBytes(information.Value));
                return JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, string>>>(json)!["documents"];
            }
        }

        Assert.Fail($"{pdb.FullName} has no SourceLink information");
        return [];
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    private static partial Regex CommitId();
}
