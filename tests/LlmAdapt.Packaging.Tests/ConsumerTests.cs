using System.Text.Json;
using System.Xml.Linq;
using Xunit.Abstractions;

namespace LlmAdapt.Packaging.Tests;

/// <summary>
/// The packages as a .NET team gets them: a fresh project outside the solution that references them by package and
/// compiles README.md's C# blocks as they are written, and the tool installed from the package folder.
/// </summary>
[Collection(PackedSolutionCollection.Name)]
public sealed class ConsumerTests(PackedSolution packed, ITestOutputHelper output)
{
    private const string ProgramSource = """
        using System.Text.RegularExpressions;
        using Microsoft.Extensions.AI;

        namespace Consumer;

        /// <summary>Runs README.md's embeddings and RAG blocks offline (built-in MiniLM, a recording chat client).</summary>
        internal static class Program
        {
            public static async Task<int> Main()
            {
                var builder = WebApplication.CreateBuilder();
                var chat = new RecordingChatClient();
                await Readme.__EMBEDDINGS__(builder, null!, new ServiceCollection(), chat, chat, chat, []);
                await Readme.__RAG__(builder, null!, new ServiceCollection(), chat, chat, chat, []);

                var index = new FileInfo("docs.llmidx");
                var prompt = string.Join("\n", chat.Messages.Select(m => m.Text));
                var sources = Regex.Matches(prompt, "<<<UNTRUSTED DOCUMENT \\[\\d+\\] source=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
                Console.WriteLine($"index {(index.Exists ? index.Length : -1)} bytes; prompt {prompt.Length} chars; retrieved {sources.Count}: {string.Join(", ", sources)}");
                return index.Exists && index.Length > 0 && sources.Count > 0 && prompt.Contains("proxy", StringComparison.Ordinal) ? 0 : 1;
            }
        }

        /// <summary>The model endpoint of this offline run: records the prompt, answers from the first source.</summary>
        internal sealed class RecordingChatClient : IChatClient
        {
            public List<ChatMessage> Messages { get; } = [];

            public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            {
                Messages.AddRange(messages);
                return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "See [1].")));
            }

            public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
            {
                foreach (var update in (await GetResponseAsync(messages, options, cancellationToken)).ToChatResponseUpdates())
                {
                    yield return update;
                }
            }

            public object? GetService(Type serviceType, object? serviceKey = null) => null;

            public void Dispose()
            {
            }
        }
        """;

    [Fact]
    public async Task FreshProject_CompilesTheReadmeSnippets_AndRunsEmbeddingsAndRetrievalOffline()
    {
        var snippets = ReadmeSnippet.Read(Path.Combine(TestData.RepositoryRoot, "README.md"));
        var embeddings = snippets.Single(s => s.Section == "Local sentence embeddings");
        var rag = snippets.Single(s => s.Section == "Retrieval-augmented generation");
        Assert.True(snippets.Count >= 8, $"{snippets.Count} C# blocks in README.md");

        var project = packed.ConsumerFolder;
        var openAi = XDocument.Load(Path.Combine(TestData.RepositoryRoot, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(e => e.Attribute("Include")?.Value == "Microsoft.Extensions.AI.OpenAI").Attribute("Version")!.Value;
        await File.WriteAllTextAsync(Path.Combine(project, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <Nullable>enable</Nullable>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="LlmAdapt" Version="{packed.Version}" />
                <PackageReference Include="LlmAdapt.Onnx" Version="{packed.Version}" />
                <PackageReference Include="LlmAdapt.Training" Version="{packed.Version}" />
                <PackageReference Include="LlmAdapt.Hosting" Version="{packed.Version}" />
                <PackageReference Include="Microsoft.Extensions.AI.OpenAI" Version="{openAi}" />
              </ItemGroup>
            </Project>
            """);
        foreach (var snippet in snippets)
        {
            await File.WriteAllTextAsync(Path.Combine(project, $"Readme.{snippet.MethodName}.cs"), snippet.ToSourceFile());
        }

        await File.WriteAllTextAsync(Path.Combine(project, "Program.cs"), ProgramSource.Replace("__EMBEDDINGS__", embeddings.MethodName, StringComparison.Ordinal).Replace("__RAG__", rag.MethodName, StringComparison.Ordinal));

        var build = await Dotnet.RunCheckedAsync(["build", project, "-c", "Release", "-nodeReuse:false", "--disable-build-servers"], project, packed.Environment);
        output.WriteLine(build.Split('\n').LastOrDefault(l => l.Contains("Time Elapsed", StringComparison.Ordinal)) ?? string.Empty);

        // Run where the RAG block expects a docs/ folder: a copy of this repository's.
        var run = Path.Combine(packed.Root, "run");
        CopyFolder(Path.Combine(TestData.RepositoryRoot, "docs"), Path.Combine(run, "docs"));
        var (code, printed) = await Dotnet.RunAsync(Dotnet.Executable, [Path.Combine(project, "bin", "Release", "net10.0", "Consumer.dll")], run);
        output.WriteLine(printed);
        Assert.True(code == 0, $"the consumer exited {code}:\n{printed}");
        Assert.Contains("retrieved", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tool_InstallsFromThePackageFolder_AndRunsAsLlmadapt()
    {
        var tools = Path.Combine(packed.Root, "tools");
        await Dotnet.RunCheckedAsync(["tool", "install", "--add-source", packed.Packages, "--tool-path", tools, "LlmAdapt.Cli", "--version", packed.Version], packed.Root, packed.Environment);
        var llmadapt = Path.Combine(tools, OperatingSystem.IsWindows() ? "llmadapt.exe" : "llmadapt");
        Assert.True(File.Exists(llmadapt), $"{llmadapt} was not installed");

        var (code, help) = await Dotnet.RunAsync(llmadapt, ["--help"], packed.Root);
        Assert.True(code == 0, help);
        Assert.Contains("Usage:" + Environment.NewLine + "  llmadapt [command] [options]", help, StringComparison.Ordinal);

        Assert.DoesNotContain("LlmAdapt.Cli", help, StringComparison.Ordinal);

        // A verb runs too: count README.md's tokens (offline, gpt-4o's tokenizer ships in the package).
        var (counted, printed) = await Dotnet.RunAsync(llmadapt, ["tokens", "count", "--model", "gpt-4o", Path.Combine(TestData.RepositoryRoot, "README.md"), "--json"], packed.Root);
        Assert.True(counted == 0, printed);
        using var json = JsonDocument.Parse(printed.TrimEnd().Split('\n')[^1]);
        Assert.True(json.RootElement.GetProperty("total_tokens").GetInt32() > 1000, printed);
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
