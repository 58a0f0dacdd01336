using LlmAdapt.Onnx.Generation;

namespace LlmAdapt.Onnx.Tests.Generation;

public sealed class StopAndStreamTests
{
    private static readonly int[] s_prompt = [0, 0, 195, 731];

    private static GenerationOptions Sampled(params string[] stops)
        => new() { MaxNewTokens = 48, Temperature = 1.0, Seed = 11, StopStrings = stops };

    [Fact]
    public void StopString_AcrossTokenBoundary_CutsTextExactly()
    {
        var model = GenerationModels.Gpt2;
        var full = model.Generate(s_prompt, Sampled());
        var text = full.Text!;

        // A stop string that starts inside one token and ends inside a later one.
        var (stop, start) = SpanningStop(model, full.TokenIds, text);
        var stopped = model.Generate(s_prompt, Sampled(stop));

        Assert.Equal(GenerationFinishReason.StopString, stopped.FinishReason);
        Assert.Equal(text[..text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.True(start <= text.IndexOf(stop, StringComparison.Ordinal));
        Assert.True(stopped.TokenIds.Count < full.TokenIds.Count);
        Assert.Equal(full.TokenIds.Take(stopped.TokenIds.Count), stopped.TokenIds);
    }

    [Fact]
    public void StopTokenId_EndsSequence_AndIsLeftOutOfText()
    {
        var model = GenerationModels.Gpt2;
        var full = model.Generate(s_prompt, Sampled());
        var stopId = full.TokenIds[10];
        var firstAt = full.TokenIds.ToList().IndexOf(stopId);

        var options = Sampled();
        options.StopTokenIds = [stopId];
        var stopped = model.Generate(s_prompt, options);

        Assert.Equal(GenerationFinishReason.EndOfSequence, stopped.FinishReason);
        Assert.Equal(full.TokenIds.Take(firstAt + 1), stopped.TokenIds);
        Assert.Equal(model.Decode(full.TokenIds.Take(firstAt)), stopped.Text);
    }

    [Fact]
    public async Task Streaming_YieldsTheSameIdsAndText_AsGenerate()
    {
        var model = GenerationModels.Gpt2;
        var full = model.Generate(s_prompt, Sampled());
        var (stop, _) = SpanningStop(model, full.TokenIds, full.Text!);

        foreach (var options in new[] { Sampled(), Sampled(stop) })
        {
            var expected = model.Generate(s_prompt, options);
            var ids = new List<int>();
            var text = new System.Text.StringBuilder();
            GenerationFinishReason? finish = null;
            var updates = 0;
            await foreach (var update in model.GenerateStreamingAsync(s_prompt, options))
            {
                Assert.Null(finish); // nothing after the closing update
                if (update.TokenId >= 0)
                {
                    ids.Add(update.TokenId);
                }

                text.Append(update.Text);
                finish = update.FinishReason;
                updates++;
            }

            Assert.Equal(expected.TokenIds, ids);
            Assert.Equal(expected.Text, text.ToString());
            Assert.Equal(expected.FinishReason, finish);
            Assert.True(updates >= ids.Count);
        }
    }

    [Fact]
    public async Task Cancellation_StopsStreamingPromptly()
    {
        using var cts = new CancellationTokenSource();
        var received = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var update in GenerationModels.Gpt2.GenerateStreamingAsync(s_prompt, new GenerationOptions { MaxNewTokens = 400 }, cts.Token))
            {
                if (++received == 3)
                {
                    await cts.CancelAsync();
                }
            }
        });

        Assert.Equal(3, received);
    }

    /// <summary>Picks 5 characters of the generated text that straddle a token boundary, as a stop string unique in the text.</summary>
    private static (string Stop, int Start) SpanningStop(OnnxDecoderModel model, IReadOnlyList<int> ids, string text)
    {
        for (var t = 8; t < ids.Count - 4; t++)
        {
            var boundary = model.Decode(ids.Take(t)).Length;
            for (var start = boundary - 3; start <= boundary - 1; start++)
            {
                if (start < 0 || start + 5 > text.Length)
                {
                    continue;
                }

                var stop = text.Substring(start, 5);
                if (text.IndexOf(stop, StringComparison.Ordinal) == start && stop.Trim().Length == 5)
                {
                    return (stop, start);
                }
            }
        }

        throw new InvalidOperationException("no stop string spanning a token boundary in: " + text);
    }
}
