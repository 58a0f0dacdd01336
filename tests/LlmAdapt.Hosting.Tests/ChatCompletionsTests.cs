using System.ClientModel;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Onnx.Tests.Generation;
using Microsoft.Extensions.AI;
using OpenAI.Chat;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIFinishReason = Microsoft.Extensions.AI.ChatFinishReason;

namespace LlmAdapt.Hosting.Tests;

/// <summary>OpenAI's .NET SDK and Microsoft.Extensions.AI's OpenAI client against the served tiny GPT-2.</summary>
public sealed class ChatCompletionsTests(ServedModelsFixture fixture) : IClassFixture<ServedModelsFixture>
{
    // Prompts whose GPT-2 ids are all below the fixture's 1,000-id vocabulary.
    private const string Prompt = "a b c";
    private const string OtherPrompt = " the and the";

    private ChatClient Sdk => fixture.Server.OpenAIClient(ServedModelsFixture.ApiKey).GetChatClient("gpt2");

    [Fact]
    public async Task Sdk_Greedy_EqualsTheModelsInProcessIds()
    {
        foreach (var (prompt, tokens) in new[] { (Prompt, 12), (OtherPrompt, 20) })
        {
            var expected = GenerationModels.Gpt2.Generate(GenerationModels.Gpt2.Encode(prompt), new GenerationOptions { MaxNewTokens = tokens });

            ChatCompletion completion = await Sdk.CompleteChatAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { MaxOutputTokenCount = tokens, Temperature = 0 });

            Assert.Equal(GenerationModels.Gpt2.Decode(expected.TokenIds), completion.Content.Single().Text);
            Assert.Equal(expected.PromptTokenIds.Count, completion.Usage.InputTokenCount);
            Assert.Equal(expected.TokenIds.Count, completion.Usage.OutputTokenCount);
            Assert.Equal(expected.FinishReason == GenerationFinishReason.MaxNewTokens ? OpenAI.Chat.ChatFinishReason.Length : OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);
            Assert.Equal("gpt2", completion.Model);
        }
    }

    [Fact]
    public async Task Sdk_EightConcurrentStreams_ShareTheBatch_AndEachEqualsItsRunAlone()
    {
        // Eight clients at once, with prompts and budgets of different lengths: the served model decodes them in one
        // running batch, and every stream still carries the ids its prompt gets alone.
        string[] prompts = ["a b c", " the and the", "a b c the and the", " the", "a", "b c", " and the a", "c b a b c"];
        var before = fixture.Batched.BatchingStatistics!;
        var streams = prompts.Select(async (prompt, i) =>
        {
            var text = new System.Text.StringBuilder();
            await foreach (var update in Sdk.CompleteChatStreamingAsync([new UserChatMessage(prompt)], new ChatCompletionOptions { MaxOutputTokenCount = 10 + (3 * i), Temperature = 0 }))
            {
                foreach (var part in update.ContentUpdate)
                {
                    text.Append(part.Text);
                }
            }

            return text.ToString();
        }).ToArray();
        var texts = await Task.WhenAll(streams);

        for (var i = 0; i < prompts.Length; i++)
        {
            var alone = GenerationModels.Gpt2.Generate(GenerationModels.Gpt2.Encode(prompts[i]), new GenerationOptions { MaxNewTokens = 10 + (3 * i) });
            Assert.Equal(GenerationModels.Gpt2.Decode(alone.TokenIds), texts[i]);
        }

        var after = fixture.Batched.BatchingStatistics!;
        Assert.True(after.Completed - before.Completed >= prompts.Length, $"{after.Completed - before.Completed} completed");
        Assert.Equal(0, after.ActiveSequences);
    }

    [Fact]
    public async Task Sdk_Streaming_ConcatenatesToTheAnswer_AndEndsWithUsage()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 20, Temperature = 0.9f, Seed = 11 };
        ChatCompletion whole = await Sdk.CompleteChatAsync([new UserChatMessage(OtherPrompt)], options);

        var text = new System.Text.StringBuilder();
        ChatTokenUsage? usage = null;
        OpenAI.Chat.ChatFinishReason? finish = null;
        var updates = 0;
        await foreach (var update in Sdk.CompleteChatStreamingAsync([new UserChatMessage(OtherPrompt)], options))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
        }

        Assert.True(updates > 3, $"{updates} updates");
        Assert.Equal(whole.Content.Single().Text, text.ToString());
        Assert.NotNull(usage);
        Assert.Equal(whole.Usage.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(whole.Usage.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(whole.FinishReason, finish);
    }

    [Fact]
    public async Task ExtensionsAIClient_SampledWithSeed_EqualsTheInProcessClient()
    {
        using var remote = Sdk.AsIChatClient();
        var options = new ChatOptions { MaxOutputTokens = 24, Temperature = 1.2f, TopP = 0.9f, Seed = 42 };
        AIChatMessage[] messages = [new(ChatRole.User, OtherPrompt)];

        var local = await fixture.Chat.GetResponseAsync(messages, options);
        var served = await remote.GetResponseAsync(messages, options);
        var streamed = await remote.GetStreamingResponseAsync(messages, options).ToChatResponseAsync();

        Assert.Equal(local.Text, served.Text);
        Assert.Equal(local.Text, streamed.Text);
        Assert.Equal(local.Usage!.OutputTokenCount, served.Usage!.OutputTokenCount);
        Assert.Equal(local.Usage.InputTokenCount, served.Usage.InputTokenCount);
        Assert.Equal(local.FinishReason, served.FinishReason);
        Assert.Equal(AIFinishReason.Length, served.FinishReason);
    }

    [Fact]
    public async Task StopSequence_EndsTheAnswerBeforeIt()
    {
        var options = new ChatCompletionOptions { MaxOutputTokenCount = 30, Temperature = 1.0f, Seed = 3 };
        ChatCompletion free = await Sdk.CompleteChatAsync([new UserChatMessage(Prompt)], options);
        var freeText = free.Content.Single().Text;
        var stop = freeText.Substring(freeText.Length / 2, 2);
        options.StopSequences.Add(stop);

        ChatCompletion stopped = await Sdk.CompleteChatAsync([new UserChatMessage(Prompt)], options);

        Assert.Equal(freeText[..freeText.IndexOf(stop, StringComparison.Ordinal)], stopped.Content.Single().Text);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, stopped.FinishReason);
    }

    [Fact]
    public async Task Choices_AreIndexed_AndGreedyOnesAgree()
    {
        using var http = fixture.Server.HttpClient(ServedModelsFixture.ApiKey);
        using var response = await http.PostAsync("chat/completions", Json("""{"model":"gpt2","messages":[{"role":"user","content":"a b c"}],"n":3,"max_tokens":8,"temperature":0}"""));
        var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var choices = body.GetProperty("choices").EnumerateArray().ToList();
        Assert.Equal([0, 1, 2], choices.Select(c => c.GetProperty("index").GetInt32()));
        Assert.Single(choices.Select(c => c.GetProperty("message").GetProperty("content").GetString()).Distinct());
        var alone = GenerationModels.Gpt2.Generate(GenerationModels.Gpt2.Encode(Prompt), new GenerationOptions { MaxNewTokens = 8 });
        Assert.Equal(GenerationModels.Gpt2.Decode(alone.TokenIds), choices[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(3 * alone.TokenIds.Count, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    internal static StringContent Json(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
