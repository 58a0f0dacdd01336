using LlmAdapt.Onnx.Generation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.Onnx.Tests.Generation;

public sealed class OnnxChatClientTests
{
    private static readonly ChatMessage[] s_conversation =
    [
        new(ChatRole.System, "You answer briefly."),
        new(ChatRole.User, "Name a colour."),
    ];

    // The Llama fixture's vocabulary is its whole tokenizer's (32,000 ids); the GPT-2 fixture scores only ids below
    // 1,000, which few words tokenize to, so chat runs on Llama.
    private static OnnxChatClient LlamaClient(ChatTemplate template = ChatTemplate.Plain) => new(GenerationModels.Llama, new OnnxChatClientOptions { Template = template, DefaultMaxOutputTokens = 24 });

    [Fact]
    public void Templates_WriteTheFamiliesConventions()
    {
        Assert.Equal(
            "<|im_start|>system\nYou answer briefly.<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n",
            LlamaClient(ChatTemplate.ChatML).FormatPrompt(s_conversation));
        Assert.Equal(
            "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou answer briefly.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
            LlamaClient(ChatTemplate.Llama3).FormatPrompt(s_conversation));
        Assert.Equal("<|system|>\nYou answer briefly.<|end|>\n<|user|>\nName a colour.<|end|>\n<|assistant|>\n", LlamaClient(ChatTemplate.Phi3).FormatPrompt(s_conversation));
        Assert.Equal("<|system|>\nYou answer briefly.</s>\n<|user|>\nName a colour.</s>\n<|assistant|>\n", LlamaClient(ChatTemplate.Zephyr).FormatPrompt(s_conversation));
        Assert.Equal("System: You answer briefly.\n\nUser: Name a colour.\n\nAssistant:", LlamaClient(ChatTemplate.Plain).FormatPrompt(s_conversation));
    }

    [Fact]
    public async Task GetResponse_EqualsTheModelsGreedyOutput_WithUsageAndFinishReason()
    {
        var client = LlamaClient();
        var prompt = GenerationModels.Llama.Encode(client.FormatPrompt(s_conversation));

        var response = await client.GetResponseAsync(s_conversation);
        var expected = GenerationModels.Llama.Generate(prompt, new GenerationOptions { MaxNewTokens = 24, StopStrings = ["\nUser:"] });

        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(prompt.Count, response.Usage!.InputTokenCount);
        Assert.Equal(expected.TokenIds.Count, response.Usage.OutputTokenCount);
        Assert.Equal(expected.FinishReason == GenerationFinishReason.MaxNewTokens ? ChatFinishReason.Length : ChatFinishReason.Stop, response.FinishReason);
        Assert.Equal(ChatRole.Assistant, response.Messages.Single().Role);
    }

    [Fact]
    public async Task Streaming_ConcatenatesToTheResponse_AndEndsWithUsage()
    {
        var client = LlamaClient();
        var options = new ChatOptions { MaxOutputTokens = 30, Temperature = 1.0f, Seed = 5 };

        var response = await client.GetResponseAsync(s_conversation, options);
        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync(s_conversation, options))
        {
            updates.Add(update);
        }

        Assert.True(updates.Count > 2);
        Assert.Equal(response.Text, string.Concat(updates.Select(u => u.Text)));
        var last = updates[^1];
        Assert.Equal(response.FinishReason, last.FinishReason);
        var usage = Assert.Single(last.Contents.OfType<UsageContent>()).Details;
        Assert.Equal(response.Usage!.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(response.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(response.Text, updates.ToChatResponse().Text);
    }

    [Fact]
    public async Task StopSequences_EndTheResponseBeforeThem()
    {
        var client = LlamaClient();
        var free = await client.GetResponseAsync(s_conversation, new ChatOptions { MaxOutputTokens = 40, Temperature = 1.0f, Seed = 3 });
        var stop = free.Text.Substring(free.Text.Length / 2, 3);

        var stopped = await client.GetResponseAsync(s_conversation, new ChatOptions { MaxOutputTokens = 40, Temperature = 1.0f, Seed = 3, StopSequences = [stop] });

        Assert.Equal(ChatFinishReason.Stop, stopped.FinishReason);
        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
    }

    [Fact]
    public async Task Llama_Zephyr_EncodesTurnMarkersAsSpecialIds_AndStopsOnEndOfTurn()
    {
        var client = new OnnxChatClient(GenerationModels.Llama, new OnnxChatClientOptions { Template = ChatTemplate.Zephyr, DefaultMaxOutputTokens = 16 });
        var prompt = GenerationModels.Llama.Encode(client.FormatPrompt(s_conversation));

        Assert.Equal(1, prompt[0]); // <s>
        Assert.Equal(2, prompt.Count(id => id == 2)); // each </s> is one id, not the characters '<', '/', 's', '>'

        var response = await client.GetResponseAsync(s_conversation);
        var expected = GenerationModels.Llama.Generate(prompt, new GenerationOptions { MaxNewTokens = 16, StopTokenIds = [2] });
        Assert.Equal(expected.Text, response.Text);
        Assert.Equal(expected.TokenIds.Count, response.Usage!.OutputTokenCount);
    }

    [Fact]
    public async Task Tools_AreRefused_NotSilentlyDropped()
    {
        var client = LlamaClient();
        var options = new ChatOptions { Tools = [AIFunctionFactory.Create(() => "sunny", "get_weather")] };

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(s_conversation, options));
        Assert.Contains("get_weather", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<NotSupportedException>(async () =>
        {
            await foreach (var _ in client.GetStreamingResponseAsync(s_conversation, options))
            {
            }
        });
    }

    [Fact]
    public async Task JsonResponseFormat_IsRefused_PlainTextIsServed()
    {
        var client = LlamaClient();

        var ex = await Assert.ThrowsAsync<NotSupportedException>(() => client.GetResponseAsync(s_conversation, new ChatOptions { ResponseFormat = ChatResponseFormat.Json }));
        Assert.Contains("ResponseFormat", ex.Message, StringComparison.Ordinal);
        var text = await client.GetResponseAsync(s_conversation, new ChatOptions { ResponseFormat = ChatResponseFormat.Text, MaxOutputTokens = 4 });
        Assert.Equal(ChatRole.Assistant, text.Messages[0].Role);
    }

    [Fact]
    public async Task HostFormatter_ReplacesTheTemplate()
    {
        var client = new OnnxChatClient(GenerationModels.Llama, new OnnxChatClientOptions
        {
            Formatter = messages => string.Join(" | ", messages.Select(m => m.Text)) + " =>",
            DefaultMaxOutputTokens = 8,
        });

        var response = await client.GetResponseAsync(s_conversation);

        Assert.Equal("You answer briefly. | Name a colour. =>", client.FormatPrompt(s_conversation));
        Assert.Equal(GenerationModels.Llama.Encode("You answer briefly. | Name a colour. =>").Count, response.Usage!.InputTokenCount);
    }

    [Fact]
    public async Task ConcurrentRequests_EqualSequentialOnes()
    {
        var client = LlamaClient();
        var conversations = Enumerable.Range(0, 6).Select(i => new[] { new ChatMessage(ChatRole.User, $"Question number {i}?") }).ToArray();
        var options = new ChatOptions { MaxOutputTokens = 20, Temperature = 0.8f, Seed = 9 };

        var sequential = new List<string>();
        foreach (var c in conversations)
        {
            sequential.Add((await client.GetResponseAsync(c, options)).Text);
        }

        var concurrent = await Task.WhenAll(conversations.Select(c => client.GetResponseAsync(c, options)));

        Assert.Equal(sequential, concurrent.Select(r => r.Text));
    }

    [Fact]
    public async Task Cancellation_DuringStreaming_Throws()
    {
        using var cts = new CancellationTokenSource();
        var client = LlamaClient();
        var received = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in client.GetStreamingResponseAsync(s_conversation, new ChatOptions { MaxOutputTokens = 400, Temperature = 1, Seed = 1 }, cts.Token))
            {
                received++;
                await cts.CancelAsync();
            }
        });
        Assert.Equal(1, received);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.GetResponseAsync(s_conversation, cancellationToken: cts.Token));
    }

    [Fact]
    public async Task AddOnnxChatClient_RegistersAWorkingChatClient()
    {
        var services = new ServiceCollection();
        services.AddLlmAdapt(b => b.AddOnnxChatClient(o =>
        {
            o.ModelPath = GenerationModels.LlamaDirectory;
            o.Template = ChatTemplate.Plain;
            o.DefaultMaxOutputTokens = 10;
            o.IntraOpThreads = 1;
        }));
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<IChatClient>();
        var response = await client.GetResponseAsync(s_conversation);

        Assert.NotNull(client.GetService<OnnxDecoderModel>());
        Assert.Equal("tiny-random-LlamaForCausalLM-fp16", client.GetService<ChatClientMetadata>()!.DefaultModelId);
        Assert.Equal(10, response.Usage!.OutputTokenCount);
    }

    [Fact]
    public void AddOnnxChatClient_WithMissingModelFolder_FailsValidation()
    {
        var services = new ServiceCollection();
        services.AddLlmAdapt(b => b.AddOnnxChatClient(o => o.ModelPath = "/no/such/model"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
        Assert.Contains("ModelPath", ex.Message, StringComparison.Ordinal);
    }
}
