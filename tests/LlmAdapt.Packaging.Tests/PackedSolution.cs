using System.Xml.Linq;

namespace LlmAdapt.Packaging.Tests;

/// <summary>
/// Packs the solution once per test run: <c>dotnet pack LlmAdapt.sln --no-build</c> from the build the tests run in,
/// into a temp folder, under a version no other run uses (so NuGet's caches never serve an older build). A
/// <c>nuget.config</c> in <see cref="ConsumerFolder"/> names that folder for the LlmAdapt packages and nuget.org for the
/// rest, with the machine's global packages folder as a read-only fallback; what is extracted goes to a private folder.
/// </summary>
public sealed class PackedSolution : IAsyncLifetime
{
    /// <summary>The ids every pack must produce.</summary>
    public static readonly string[] PackageIds = ["LlmAdapt.Abstractions", "LlmAdapt", "LlmAdapt.Onnx", "LlmAdapt.Training", "LlmAdapt.PostgreSql", "LlmAdapt.Hosting", "LlmAdapt.Cli"];

    /// <summary>The temp folder everything is written under (deleted afterwards).</summary>
    public string Root { get; } = Path.Combine(Path.GetTempPath(), "llmadapt-packaging", Guid.NewGuid().ToString("N")[..12]);

    /// <summary>The local package folder.</summary>
    public string Packages => Path.Combine(Root, "packages");

    /// <summary>The folder of the consumer project (its nuget.config is written with the packages).</summary>
    public string ConsumerFolder => Path.Combine(Root, "consumer");

    /// <summary>The packages' version in this run.</summary>
    public string Version { get; } = "0.1.0-ci.t" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>The configuration the tests (and so the solution) were built in.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>The repository URL of Directory.Build.props.</summary>
    public static string RepositoryUrl { get; } = XDocument.Load(Path.Combine(TestData.RepositoryRoot, "Directory.Build.props"))
        .Descendants("RepositoryUrl").Single().Value;

    /// <summary>The environment of every restore and install: a private package folder for this run.</summary>
    public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(Root, "nuget") };

    /// <summary>What <c>dotnet pack</c> printed.</summary>
    public string PackOutput { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Packages);
        Directory.CreateDirectory(ConsumerFolder);
        var globalPackages = System.Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } set
            ? set
            : Path.Combine(System.Environment.GetFolderPath(System.Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        await File.WriteAllTextAsync(Path.Combine(ConsumerFolder, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{Packages}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="local">
                  <package pattern="LlmAdapt" />
                  <package pattern="LlmAdapt.*" />
                </packageSource>
                <packageSource key="nuget.org">
                  <package pattern="*" />
                </packageSource>
              </packageSourceMapping>
              <fallbackPackageFolders>
                <add key="machine" value="{globalPackages}" />
              </fallbackPackageFolders>
            </configuration>
            """);
        PackOutput = await Dotnet.RunCheckedAsync(
            ["pack", Path.Combine(TestData.RepositoryRoot, "LlmAdapt.sln"), "-c", Configuration, "--no-build", "-o", Packages, $"-p:PackageVersion={Version}", "-nodeReuse:false", "--disable-build-servers"],
            TestData.RepositoryRoot);
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open (a tool process on Windows) leaves the temp folder behind; nothing else depends on it.
        }

        return Task.CompletedTask;
    }

    /// <summary>The path of a package this run produced.</summary>
    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Packages, $"{id}.{Version}.{extension}");
}

[CollectionDefinition(Name)]
public sealed class PackedSolutionCollection : ICollectionFixture<PackedSolution>
{
    public const string Name = "packed solution";
}
