using System.IO.Compression;
using LlmAdapt.Preference;
using Microsoft.Extensions.AI;

namespace LlmAdapt.Tests.Preference;

public sealed class PreferenceDataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("llmadapt-pref-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, params string[] lines)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public async Task HhRlhf_ImplicitPrompt_SplitsAtTheLastSharedAssistantTurn()
    {
        var path = TestData.PathOf("preference/hh-rlhf-harmless/pairs-1800.jsonl.gz");

        // Line 87's preferred answer is empty: refused by default, read when empty responses are allowed.
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => PreferenceDataReader.ReadPairsAsync(path));
        Assert.Equal(87, ex.LineNumber);
        var pairs = await PreferenceDataReader.ReadPairsAsync(path, limits: new PreferenceLimits { AllowEmptyResponses = true });
        Assert.Equal(1800, pairs.Count);
        Assert.Equal(string.Empty, pairs[86].Chosen.Trim());
        Assert.All(pairs.Take(200), p =>
        {
            Assert.EndsWith(DialogueText.AssistantMarker, p.Prompt, StringComparison.Ordinal);
            Assert.DoesNotContain(DialogueText.HumanMarker, p.Chosen, StringComparison.Ordinal);
        });
        Assert.EndsWith(":1", pairs[0].Origin, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(PreferenceFormat.TrlExplicit, "pairs.jsonl")]
    [InlineData(PreferenceFormat.TrlImplicit, "pairs.jsonl.gz")]
    [InlineData(PreferenceFormat.OpenAI, "pairs.jsonl")]
    public async Task WriteThenRead_RoundTripsEachFormat(PreferenceFormat format, string name)
    {
        PreferencePair[] pairs =
        [
            new() { Prompt = "\n\nHuman: Is the sky blue?\n\nAssistant:", Chosen = " Yes, on a clear day.", Rejected = " No.", Margin = 2 },
            new() { Prompt = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: tell me a joke\n\nAssistant:", Chosen = " Why did the chicken…", Rejected = " I won't." },
        ];
        var path = Path.Combine(_dir, name);
        Assert.Equal(2, await PreferenceDataWriter.WritePairsAsync(path, pairs, format));
        var back = await PreferenceDataReader.ReadPairsAsync(path);
        Assert.Equal(2, back.Count);
        for (var i = 0; i < pairs.Length; i++)
        {
            if (format == PreferenceFormat.OpenAI)
            {
                // OpenAI's format keeps messages, not the dialogue text's spacing: compare by content.
                Assert.Equal(DialogueText.Parse(pairs[i].Prompt).Select(m => (m.Role, m.Text)), DialogueText.Parse(back[i].Prompt).Select(m => (m.Role, m.Text)));
                Assert.Equal(pairs[i].Chosen.Trim(), back[i].Chosen);
            }
            else
            {
                Assert.Equal(pairs[i].Prompt, back[i].Prompt);
                Assert.Equal(pairs[i].Chosen, back[i].Chosen);
                Assert.Equal(pairs[i].Rejected, back[i].Rejected);
            }

            Assert.Equal(pairs[i].Margin, back[i].Margin);
        }
    }

    [Fact]
    public async Task OpenAIFormat_SingleUserMessage_IsThePromptText()
    {
        var path = Write("oa.jsonl", """{"input":{"messages":[{"role":"user","content":"Capital of France?"}],"tools":[]},"preferred_output":[{"role":"assistant","content":"Paris."}],"non_preferred_output":[{"role":"assistant","content":"Lyon."}]}""");
        var pair = Assert.Single(await PreferenceDataReader.ReadPairsAsync(path));
        Assert.Equal("Capital of France?", pair.Prompt);
        Assert.Equal("Paris.", pair.Chosen);
        Assert.Equal("Lyon.", pair.Rejected);
    }

    [Fact]
    public async Task TrlConversational_MessagesBecomeDialogueText()
    {
        var path = Write("conv.jsonl", """{"prompt":[{"role":"user","content":"What color is the sky?"}],"chosen":[{"role":"assistant","content":"Blue."}],"rejected":[{"role":"assistant","content":"Green."}]}""");
        var pair = Assert.Single(await PreferenceDataReader.ReadPairsAsync(path));
        Assert.Equal("\n\nHuman: What color is the sky?\n\nAssistant:", pair.Prompt);
        Assert.Equal("Blue.", pair.Chosen);
    }

    [Fact]
    public async Task MalformedLine_NamesFileAndLine()
    {
        var path = Write("bad.jsonl", """{"prompt":"p","chosen":"a","rejected":"b"}""", "", """{"prompt":"p","chosen":"a",""");
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => PreferenceDataReader.ReadPairsAsync(path));
        Assert.Equal(3, ex.LineNumber);
        Assert.Contains($"{path}:3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ChosenEqualsRejected_IsRejectedWithTheLine()
    {
        var path = Write("same.jsonl", """{"prompt":"p","chosen":"a","rejected":"b"}""", """{"prompt":"p","chosen":"same","rejected":"same"}""");
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => PreferenceDataReader.ReadPairsAsync(path));
        Assert.Equal(2, ex.LineNumber);
        Assert.Contains("same text", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmptyFile_AndMissingField_AreClearErrors()
    {
        var empty = Write("empty.jsonl", "", "  ");
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => PreferenceDataReader.ReadPairsAsync(empty));
        Assert.Contains("no preference pairs", ex.Message, StringComparison.Ordinal);

        var missing = Write("missing.jsonl", """{"prompt":"p","chosen":"a"}""");
        ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => PreferenceDataReader.ReadPairsAsync(missing));
        Assert.Contains("'rejected'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rankings_ReadOrderWithTies_RanksAndScores()
    {
        var path = Write(
            "rank.jsonl",
            """{"prompt":"p","responses":["a","b","c","d"],"ranking":[2,[0,3],1]}""",
            """{"prompt":"q","responses":["x","y"],"ranks":[2,1]}""",
            """{"prompt":"r","responses":["u","v","w"],"scores":[0.1,0.9,0.1]}""");
        var rankings = await PreferenceDataReader.ReadRankingsAsync(path);
        Assert.Equal(new[] { 2, 3, 1, 2 }, rankings[0].Ranks);
        Assert.Equal(new[] { 2, 1 }, rankings[1].Ranks);
        Assert.Equal(new[] { 2, 1, 2 }, rankings[2].Ranks);

        var copy = Path.Combine(_dir, "copy.jsonl");
        await PreferenceDataWriter.WriteRankingsAsync(copy, rankings);
        var back = await PreferenceDataReader.ReadRankingsAsync(copy);
        Assert.Equal(rankings.Select(r => r.Ranks), back.Select(r => r.Ranks));
        Assert.Equal(rankings[2].Scores, back[2].Scores);
    }

    [Theory]
    [InlineData("""{"prompt":"p","responses":["a","b"],"ranking":[0,5]}""", "response 5")]
    [InlineData("""{"prompt":"p","responses":["a","b","c"],"ranking":[0,1]}""", "leaves out")]
    [InlineData("""{"prompt":"p","responses":["a","b"],"ranking":[0,0]}""", "twice")]
    [InlineData("""{"prompt":"p","responses":["a","b"]}""", "needs 'ranking'")]
    public async Task BadRanking_IsAClearError(string line, string expected)
    {
        var path = Write("bad-rank.jsonl", line);
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(() => PreferenceDataReader.ReadRankingsAsync(path));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, ex.LineNumber);
    }

    [Fact]
    public void DialogueText_FormatThenParse_RoundTrips()
    {
        ChatMessage[] messages = [new(ChatRole.System, "be kind"), new(ChatRole.User, "hi"), new(ChatRole.Assistant, "hello"), new(ChatRole.User, "bye")];
        var text = DialogueText.Format(messages);
        Assert.EndsWith("\n\nHuman: bye\n\nAssistant:", text, StringComparison.Ordinal);
        Assert.Equal(messages.Select(m => (m.Role, m.Text)), DialogueText.Parse(text).Select(m => (m.Role, m.Text)));
    }

    [Fact]
    public async Task GzipOutput_IsGzip()
    {
        var path = Path.Combine(_dir, "out.jsonl.gz");
        await PreferenceDataWriter.WritePairsAsync(path, [new PreferencePair { Prompt = "p", Chosen = "a", Rejected = "b" }], PreferenceFormat.TrlExplicit);
        await using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gz);
        Assert.Equal("""{"prompt":"p","chosen":"a","rejected":"b"}""", (await reader.ReadToEndAsync()).Trim());
    }
}
