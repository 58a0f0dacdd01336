using System.Text;
using Fluid;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Prompting.Templates;

/// <summary>
/// Chat messages written in Liquid (rendered by Fluid). Variables are inserted as text and never parsed again as
/// template code; a variable the template reads but the render does not supply is a <see cref="PromptTemplateException"/>
/// naming it. Create one with <see cref="Parse(string, string?)"/>, <see cref="Parse(IEnumerable{PromptTemplateMessage}, string)"/>,
/// <see cref="ParseSections"/> or <see cref="Load"/>; instances are immutable and thread-safe.
/// </summary>
public sealed class PromptTemplate
{
    private static readonly FluidParser s_parser = new();

    private static readonly TemplateOptions s_options = CreateOptions();

    private readonly IFluidTemplate[] _compiled;

    private PromptTemplate(string name, IReadOnlyList<PromptTemplateMessage> messages, IFluidTemplate[] compiled, IReadOnlyList<string> variables)
    {
        Name = name;
        Messages = messages;
        _compiled = compiled;
        Variables = variables;
    }

    /// <summary>Gets the name used in error messages (the file path for <see cref="Load"/>).</summary>
    public string Name { get; }

    /// <summary>Gets the messages, in order, with their Liquid sources.</summary>
    public IReadOnlyList<PromptTemplateMessage> Messages { get; }

    /// <summary>Gets the variables the template reads from the caller, sorted; a render must supply every one.</summary>
    public IReadOnlyList<string> Variables { get; }

    /// <summary>Parses a template of one user message and an optional system message before it.</summary>
    /// <param name="user">The Liquid source of the user message.</param>
    /// <param name="system">The Liquid source of the system message, or <see langword="null"/> for none.</param>
    /// <returns>The template.</returns>
    /// <exception cref="PromptTemplateException">A source does not parse; the message says where.</exception>
    public static PromptTemplate Parse(string user, string? system = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        List<PromptTemplateMessage> messages = [];
        if (system is not null)
        {
            messages.Add(new PromptTemplateMessage(ChatRole.System, system));
        }

        messages.Add(new PromptTemplateMessage(ChatRole.User, user));
        return Parse(messages);
    }

    /// <summary>Parses a template of any sequence of messages.</summary>
    /// <param name="messages">The messages, in order; at least one.</param>
    /// <param name="name">A name for error messages.</param>
    /// <returns>The template.</returns>
    /// <exception cref="PromptTemplateException">A source does not parse; the message names the message and where.</exception>
    public static PromptTemplate Parse(IEnumerable<PromptTemplateMessage> messages, string name = "template")
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var list = messages.ToList();
        if (list.Count == 0)
        {
            throw new ArgumentException("A template needs at least one message.", nameof(messages));
        }

        var compiled = new IFluidTemplate[list.Count];
        var variables = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            ArgumentNullException.ThrowIfNull(list[i], nameof(messages));
            ArgumentNullException.ThrowIfNull(list[i].Source, nameof(messages));
            if (!s_parser.TryParse(list[i].Source, out var template, out var error))
            {
                throw new PromptTemplateException($"Template '{name}', message {i + 1} ({list[i].Role}): {error}");
            }

            compiled[i] = template;
            variables.UnionWith(new VariableCollector().Collect(template));
        }

        return new PromptTemplate(name, list, compiled, [.. variables]);
    }

    /// <summary>
    /// Parses a template written as one text with section lines <c>### system</c>, <c>### user</c> and
    /// <c>### assistant</c> (each alone on its line, any case) starting each message. A text without section
    /// lines is one user message.
    /// </summary>
    /// <param name="text">The text.</param>
    /// <param name="name">A name for error messages, such as the file path.</param>
    /// <returns>The template.</returns>
    /// <exception cref="PromptTemplateException">Text comes before the first section line, a section is empty, or a source does not parse.</exception>
    public static PromptTemplate ParseSections(string text, string name = "template")
    {
        ArgumentNullException.ThrowIfNull(text);
        var messages = new List<PromptTemplateMessage>();
        ChatRole? role = null;
        var body = new StringBuilder();
        var lineNumber = 0;
        var sectionLine = 0;
        var hasSections = HasSections(text);
        foreach (var line in text.ReplaceLineEndings("\n").Split('\n'))
        {
            lineNumber++;
            var header = SectionRole(line);
            if (header is null)
            {
                if (role is null && hasSections && line.Trim().Length > 0)
                {
                    throw new PromptTemplateException($"{name}:{lineNumber}: text before the first section line (### system, ### user or ### assistant).");
                }

                body.Append(line).Append('\n');
                continue;
            }

            Flush();
            role = header;
            sectionLine = lineNumber;
        }

        Flush();
        return Parse(messages, name);

        void Flush()
        {
            var source = body.ToString().Trim('\n');
            body.Clear();
            if (role is null)
            {
                if (source.Trim().Length > 0)
                {
                    messages.Add(new PromptTemplateMessage(ChatRole.User, source));
                }

                return;
            }

            if (source.Trim().Length == 0)
            {
                throw new PromptTemplateException($"{name}:{sectionLine}: the {role} section is empty.");
            }

            messages.Add(new PromptTemplateMessage(role.Value, source));
        }
    }

    /// <summary>Reads a template file in the format of <see cref="ParseSections"/>.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The template, named by its path.</returns>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="PromptTemplateException">The file's template is not valid.</exception>
    public static PromptTemplate Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such template file.", path);
        }

        return ParseSections(File.ReadAllText(path), path);
    }

    /// <summary>Renders every message with <paramref name="variables"/>.</summary>
    /// <param name="variables">The values, by variable name (case-sensitive). Strings, numbers, booleans, lists and dictionaries are understood.</param>
    /// <returns>The rendered messages, in the template's order.</returns>
    /// <exception cref="PromptTemplateException">A variable the template reads is not in <paramref name="variables"/>; every missing name is listed.</exception>
    public IReadOnlyList<ChatMessage> Render(IReadOnlyDictionary<string, object?> variables)
    {
        ArgumentNullException.ThrowIfNull(variables);
        ThrowIfMissing(variables);

        var context = new TemplateContext(s_options, StringComparer.Ordinal);
        foreach (var (key, value) in variables)
        {
            // A supplied null renders as nothing; Fluid would otherwise treat it as undefined under strict variables.
            if (value is null)
            {
                context.SetValue(key, Fluid.Values.NilValue.Instance);
            }
            else
            {
                context.SetValue(key, value);
            }
        }

        var result = new ChatMessage[_compiled.Length];
        for (var i = 0; i < _compiled.Length; i++)
        {
            string text;
            try
            {
                text = _compiled[i].Render(context, NullEncoder.Default, isolateContext: true);
            }
            catch (Exception ex) when (ex is InvalidOperationException or FluidException)
            {
                throw new PromptTemplateException($"Template '{Name}', message {i + 1} ({Messages[i].Role}): {ex.Message}", ex);
            }

            result[i] = new ChatMessage(Messages[i].Role, text);
        }

        return result;
    }

    /// <summary>Returns the variables the template reads that are not among <paramref name="supplied"/>, sorted.</summary>
    /// <param name="supplied">The names a render would supply.</param>
    /// <returns>The missing names; empty when none.</returns>
    public IReadOnlyList<string> MissingVariables(IEnumerable<string> supplied)
    {
        ArgumentNullException.ThrowIfNull(supplied);
        var set = supplied as IReadOnlySet<string> ?? new HashSet<string>(supplied, StringComparer.Ordinal);
        return [.. Variables.Where(v => !set.Contains(v))];
    }

    internal void ThrowIfMissing(IEnumerable<string> supplied)
    {
        var missing = MissingVariables(supplied);
        if (missing.Count > 0)
        {
            throw new PromptTemplateException(Name, missing);
        }
    }

    private void ThrowIfMissing(IReadOnlyDictionary<string, object?> variables)
    {
        // The common case allocates nothing: every variable is there.
        foreach (var name in Variables)
        {
            if (!variables.ContainsKey(name))
            {
                ThrowIfMissing(variables.Keys);
            }
        }
    }

    private static ChatRole? SectionRole(string line)
    {
        var trimmed = line.Trim();
        if (!trimmed.StartsWith("###", StringComparison.Ordinal))
        {
            return null;
        }

        return trimmed[3..].Trim().ToUpperInvariant() switch
        {
            "SYSTEM" => ChatRole.System,
            "USER" => ChatRole.User,
            "ASSISTANT" => ChatRole.Assistant,
            _ => null,
        };
    }

    private static bool HasSections(string text) => text.ReplaceLineEndings("\n").Split('\n').Any(l => SectionRole(l) is not null);

    private static TemplateOptions CreateOptions()
    {
        var options = new TemplateOptions
        {
            MemberAccessStrategy = new UnsafeMemberAccessStrategy(),
            // Not StrictVariables: it treats a supplied null as undefined. Missing top-level variables are found before
            // rendering from the parsed template; a missing member of a supplied object is reported here.
            Undefined = static name => throw new InvalidOperationException($"Undefined variable '{name}'."),
            CultureInfo = System.Globalization.CultureInfo.InvariantCulture,
        };
        return options;
    }
}
