using System.Text;
using System.Text.RegularExpressions;

namespace LlmAdapt.Packaging.Tests;

/// <summary>One <c>```csharp</c> block of README.md, split into its using directives and its statements.</summary>
/// <param name="Line">The README line of the block's first code line (1-based).</param>
/// <param name="Section">The nearest <c>##</c> heading above the block.</param>
/// <param name="Header">The leading using directives and comments, as written.</param>
/// <param name="Body">The statements after them, as written.</param>
internal sealed partial record ReadmeSnippet(int Line, string Section, IReadOnlyList<string> Header, IReadOnlyList<string> Body)
{
    /// <summary>
    /// The free variables a reader's program has around the snippets (a web host's <c>builder</c> and <c>app</c>, a
    /// service collection, chat clients, a chat history); each generated method takes them as parameters.
    /// </summary>
    public const string Parameters =
        "global::Microsoft.AspNetCore.Builder.WebApplicationBuilder builder, global::Microsoft.AspNetCore.Builder.WebApplication app, " +
        "global::Microsoft.Extensions.DependencyInjection.IServiceCollection services, global::Microsoft.Extensions.AI.IChatClient chatClient, " +
        "global::Microsoft.Extensions.AI.IChatClient innerClient, global::Microsoft.Extensions.AI.IChatClient myChatClient, " +
        "global::System.Collections.Generic.List<global::Microsoft.Extensions.AI.ChatMessage> history";

    /// <summary>The name of the generated method.</summary>
    public string MethodName => $"Line{Line}";

    /// <summary>Every C# block of the README, in order.</summary>
    public static IReadOnlyList<ReadmeSnippet> Read(string readmePath)
    {
        var lines = File.ReadAllLines(readmePath);
        var snippets = new List<ReadmeSnippet>();
        var section = string.Empty;
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].StartsWith("## ", StringComparison.Ordinal))
            {
                section = lines[i][3..].Trim();
            }

            if (lines[i].Trim() != "```csharp")
            {
                continue;
            }

            var start = i + 1;
            var end = start;
            while (end < lines.Length && lines[end].Trim() != "```")
            {
                end++;
            }

            var code = lines[start..end];
            var split = 0;
            while (split < code.Length && (UsingDirective().IsMatch(code[split]) || code[split].TrimStart().StartsWith("//", StringComparison.Ordinal) || code[split].Trim().Length == 0))
            {
                split++;
            }

            snippets.Add(new ReadmeSnippet(start + 1, section, code[..split], code[split..]));
            i = end;
        }

        return snippets;
    }

    /// <summary>
    /// A C# file holding the snippet as the body of a static method of <c>Consumer.Readme</c>: its own using lines
    /// first, then its statements under <c>#line</c> directives, so a compile error names README.md and its line.
    /// </summary>
    public string ToSourceFile()
    {
        var text = new StringBuilder();
        text.AppendLine($"#line {Line} \"README.md\"");
        foreach (var line in Header)
        {
            text.AppendLine(line);
        }

        text.AppendLine("#line hidden");
        text.AppendLine("namespace Consumer;");
        text.AppendLine();
        text.AppendLine("internal static partial class Readme");
        text.AppendLine("{");
        text.AppendLine($"    /// <summary>README.md line {Line}, section \"{Section}\".</summary>");
        text.AppendLine($"    public static async global::System.Threading.Tasks.Task {MethodName}({Parameters})");
        text.AppendLine("    {");
        text.AppendLine($"#line {Line + Header.Count} \"README.md\"");
        foreach (var line in Body)
        {
            text.AppendLine(line);
        }

        text.AppendLine("#line hidden");
        text.AppendLine("        await global::System.Threading.Tasks.Task.CompletedTask;");
        text.AppendLine("    }");
        text.AppendLine("}");
        return text.ToString();
    }

    [GeneratedRegex(@"^\s*using\s+(static\s+)?[A-Za-z_][\w.]*(\s*=\s*[\w.<>, ]+)?\s*;\s*$")]
    private static partial Regex UsingDirective();
}
