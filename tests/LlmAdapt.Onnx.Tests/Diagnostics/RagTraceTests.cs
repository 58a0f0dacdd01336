using System.Diagnostics;
using LlmAdapt.Diagnostics;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using LlmAdapt.Prompting;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Chunking;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Packing;
using LlmAdapt.Retrieval.Retrievers;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace LlmAdapt.Onnx.Tests.Diagnostics;

/// <summary>One RAG answer over the repository's docs/ with a local chat model, traced with OpenTelemetry's in-memory exporter.</summary>
public sealed class RagTraceTests
{
    private const string Question = "How does llmadapt serve refuse a request that asks for tools?";
    private const string GenAISource = "LlmAdapt.Tests.GenAI";
    private static readonly ActivitySource s_test = new("LlmAdapt.Tests.RagTrace");

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Ask_IsOneTrace_RetrievalThenPackingThenChat_WithContentOnlyWhenSensitive(bool sensitive)
    {
        var counter = TokenCounter.Create(GenerationModels.Llama.Tokenizer!, "tiny-llama");
        using var index = await DocsIndexAsync(counter);
        using var chat = new ChatClientBuilder(new OnnxChatClient(GenerationModels.Llama, new OnnxChatClientOptions { DefaultMaxOutputTokens = 8, ModelId = "tiny-llama" }))
            .UseOpenTelemetry(sourceName: GenAISource, configure: c => c.EnableSensitiveData = sensitive)
            .Build();
        var strategy = new RetrievalAugmentedPromptStrategy(new KeywordRetriever(index), new ContextPacker(counter), new RetrievalAugmentedOptions { TopK = 3, MaxContextTokens = 300 });
        var spans = new List<Activity>();
        ActivityTraceId traceId;
        PromptResult result;
        using (var tracing = Sdk.CreateTracerProviderBuilder().AddSource(LlmAdaptTelemetry.SourceName, GenAISource, s_test.Name).AddInMemoryExporter(spans).Build())
        {
            LlmAdaptTelemetry.EnableSensitiveData = sensitive;
            try
            {
                using var root = s_test.StartActivity("ask")!;
                traceId = root.TraceId;
                result = await strategy.ExecuteAsync(chat, new PromptRequest { Task = Question });
            }
            finally
            {
                LlmAdaptTelemetry.EnableSensitiveData = false;
            }
        }

        // Other tests may trace at the same time: keep this trace only.
        var trace = spans.Where(s => s.TraceId == traceId).ToList();
        var rag = Assert.Single(trace, s => s.DisplayName == "prompt_strategy rag");
        var retrieval = Assert.Single(trace, s => s.DisplayName == "retrieval DocumentIndex");
        var packing = Assert.Single(trace, s => s.DisplayName == "context_packing");
        var call = Assert.Single(trace, s => s.DisplayName == "chat tiny-llama");
        Assert.All([retrieval, packing, call], s => Assert.Equal(rag.SpanId, s.ParentSpanId));
        Assert.True(retrieval.StartTimeUtc + retrieval.Duration <= packing.StartTimeUtc);
        Assert.True(packing.StartTimeUtc + packing.Duration <= call.StartTimeUtc);

        Assert.Equal("keyword", retrieval.GetTagItem("llmadapt.retrieval.retriever"));
        Assert.Equal(3, retrieval.GetTagItem("llmadapt.retrieval.top_k"));
        Assert.Equal(3, retrieval.GetTagItem("llmadapt.retrieval.hits"));
        var context = (PackedContext)result.AdditionalProperties![RetrievalAugmentedPromptStrategy.ContextKey]!;
        Assert.Equal(context.Passages.Count, packing.GetTagItem("llmadapt.packing.passages"));
        Assert.Equal(context.TokenCount, packing.GetTagItem("llmadapt.packing.tokens"));

        Assert.Equal("chat", call.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("llmadapt-onnx", call.GetTagItem("gen_ai.provider.name") ?? call.GetTagItem("gen_ai.system"));
        Assert.Equal((int?)result.Usage!.InputTokenCount, Convert.ToInt32(call.GetTagItem("gen_ai.usage.input_tokens"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal((int?)result.Usage.OutputTokenCount, Convert.ToInt32(call.GetTagItem("gen_ai.usage.output_tokens"), System.Globalization.CultureInfo.InvariantCulture));

        var carriesQuestion = trace.Where(s => Texts(s).Any(t => t.Contains("refuse a request", StringComparison.Ordinal))).Select(s => s.DisplayName).Order().ToList();
        if (sensitive)
        {
            Assert.Equal(Question, retrieval.GetTagItem("llmadapt.retrieval.query"));
            Assert.Equal(["chat tiny-llama", "retrieval DocumentIndex"], carriesQuestion);
        }
        else
        {
            Assert.Empty(carriesQuestion);
        }
    }

    private static IEnumerable<string> Texts(Activity span)
        => span.TagObjects.Select(t => t.Value?.ToString() ?? string.Empty)
            .Concat(span.Events.SelectMany(e => e.Tags.Select(t => t.Value?.ToString() ?? string.Empty)));

    /// <summary>A keyword index of the repository's docs/ folder, chunked by Markdown structure.</summary>
    private static async Task<DocumentIndex> DocsIndexAsync(TokenCounter counter)
    {
        var (documents, _) = await DocumentFolder.ReadAsync(Path.Combine(TestData.RepositoryRoot, "docs"));
        var chunker = new MarkdownChunker(counter);
        var index = new DocumentIndex();
        await DocumentIndexer.AddAsync(index, [.. documents.SelectMany(chunker.Chunk)]);
        return index;
    }
}
