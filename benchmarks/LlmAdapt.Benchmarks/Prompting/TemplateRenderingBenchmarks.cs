using BenchmarkDotNet.Attributes;
using HandlebarsDotNet;
using LlmAdapt.Prompting.Templates;

namespace LlmAdapt.Benchmarks.Prompting;

/// <summary>
/// Rendering the same few-shot classification prompt (a system message, then a user message with a loop over four
/// examples and the review) for 500 SST-2 reviews: LlmAdapt's <see cref="PromptTemplate"/> (Fluid, with its
/// missing-variable check) against Handlebars.Net and DotLiquid, each with its template parsed once.
/// </summary>
[MemoryDiagnoser]
public class TemplateRenderingBenchmarks
{
    private PromptTemplate _ours = null!;
    private HandlebarsTemplate<object, object> _handlebarsSystem = null!;
    private HandlebarsTemplate<object, object> _handlebarsUser = null!;
    private DotLiquid.Template _dotLiquidSystem = null!;
    private DotLiquid.Template _dotLiquidUser = null!;
    private Dictionary<string, object?>[] _inputs = [];
    private DotLiquid.Hash[] _hashes = [];

    [GlobalSetup]
    public void Setup()
    {
        var rows = File.ReadLines(TestData.PathOf("classification/sst2/test.tsv")).Skip(1).Select(l => l.Split('\t')).ToArray();
        var examples = rows.Take(4).Select(r => new Dictionary<string, object?> { ["input"] = r[0].Trim(), ["output"] = r[1] == "1" ? "positive" : "negative" }).ToArray();
        _inputs = [.. rows.Skip(4).Take(500).Select(r => new Dictionary<string, object?>
        {
            ["task"] = r[0].Trim(),
            ["product"] = "film",
            ["examples"] = examples,
        })];
        _hashes = [.. _inputs.Select(i => DotLiquid.Hash.FromDictionary(i.ToDictionary(kv => kv.Key, kv => kv.Value is Dictionary<string, object?>[] list ? (object)list.Select(d => DotLiquid.Hash.FromDictionary(d.ToDictionary(x => x.Key, x => x.Value!))).ToList() : kv.Value!)))];

        const string System = "You label the sentiment of {{ product }} reviews as positive or negative.";
        _ours = PromptTemplate.Parse(
            user: "{% for e in examples %}Review: {{ e.input }}\nLabel: {{ e.output }}\n\n{% endfor %}Review: {{ task }}\nLabel:",
            system: System);
        // Prompts are not HTML: Handlebars' default escaping is turned off, as Fluid renders with no encoder here.
        var handlebars = Handlebars.Create(new HandlebarsConfiguration { NoEscape = true });
        _handlebarsSystem = handlebars.Compile(System);
        _handlebarsUser = handlebars.Compile("{{#each examples}}Review: {{this.input}}\nLabel: {{this.output}}\n\n{{/each}}Review: {{task}}\nLabel:");
        _dotLiquidSystem = DotLiquid.Template.Parse(System);
        _dotLiquidUser = DotLiquid.Template.Parse("{% for e in examples %}Review: {{ e.input }}\nLabel: {{ e.output }}\n\n{% endfor %}Review: {{ task }}\nLabel:");

        var check = Handlebars_Net();
        var ours = PromptTemplate_LlmAdapt();
        if (ours != check || ours != DotLiquid_Peer())
        {
            throw new InvalidOperationException($"The engines render different text lengths: {ours}, {check}, {DotLiquid_Peer()}.");
        }
    }

    [Benchmark(Baseline = true)]
    public long PromptTemplate_LlmAdapt()
    {
        long length = 0;
        foreach (var input in _inputs)
        {
            foreach (var message in _ours.Render(input))
            {
                length += message.Text.Length;
            }
        }

        return length;
    }

    [Benchmark]
    public long Handlebars_Net()
    {
        long length = 0;
        foreach (var input in _inputs)
        {
            length += _handlebarsSystem(input).Length + _handlebarsUser(input).Length;
        }

        return length;
    }

    [Benchmark]
    public long DotLiquid_Peer()
    {
        long length = 0;
        foreach (var hash in _hashes)
        {
            length += _dotLiquidSystem.Render(hash).Length + _dotLiquidUser.Render(hash).Length;
        }

        return length;
    }
}
