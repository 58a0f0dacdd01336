using System.Text;
using LlmAdapt.Preference;
using LlmAdapt.Preference.Feedback;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LlmAdapt.Tests.Preference;

public sealed class FeedbackStoreTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("llmadapt-feedback-");

    private string FilePath => Path.Combine(_folder.FullName, "sub", "feedback.jsonl");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Append_ThenRead_RoundTripsEveryKind_WithTheStoresClock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero));
        using (var store = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = FilePath }, clock))
        {
            await store.AppendAsync(FeedbackRecord.Thumbs("r1", "What is 2+2?", "4", up: true) with { Metadata = new Dictionary<string, string> { ["adapter"] = "sql" } });
            clock.Advance(TimeSpan.FromMinutes(1));
            await store.AppendAsync(FeedbackRecord.Scored("r2", "Name a colour", "blue \"sky\"\nline two", 4.5));
            await store.AppendAsync(FeedbackRecord.Ranked("r3", "\n\nHuman: hi\n\nAssistant:", ["a", "b", "c"], [2, 1, 2]));
        }

        using var reopened = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = FilePath });
        var records = await reopened.ReadAllAsync().ToListAsync();
        Assert.Equal(3, records.Count);
        Assert.Equal(("r1", FeedbackKind.Thumbs, true), (records[0].ResponseId, records[0].Kind, records[0].ThumbsUp));
        Assert.Equal("sql", records[0].Metadata!["adapter"]);
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero), records[0].Timestamp);
        Assert.Equal(new DateTimeOffset(2026, 12, 3, 9, 1, 0, TimeSpan.Zero), records[1].Timestamp);
        Assert.Equal("blue \"sky\"\nline two", records[1].Responses[0]);
        Assert.Equal(4.5, records[1].Score);
        Assert.Equal([2, 1, 2], records[2].Ranks!);
        Assert.EndsWith("feedback.jsonl:3", records[2].Origin, StringComparison.Ordinal);
        Assert.Equal(3, File.ReadAllLines(FilePath).Length);
    }

    [Fact]
    public async Task TornLastLine_IsSkippedWhenRead_AndCutOffBeforeTheNextAppend()
    {
        using (var store = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = FilePath }))
        {
            await store.AppendAsync(FeedbackRecord.Thumbs("r1", "p", "good", up: true));
            await store.AppendAsync(FeedbackRecord.Thumbs("r2", "p", "bad", up: false));
        }

        // A crash in the middle of the third append leaves half a line and no line break.
        var whole = File.ReadAllBytes(FilePath);
        var third = Encoding.UTF8.GetBytes("{\"id\":\"x\",\"response_id\":\"r3\",\"kind\":\"thu");
        File.WriteAllBytes(FilePath, [.. whole, .. third]);

        using var reopened = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = FilePath });
        Assert.Equal(["r1", "r2"], (await reopened.ReadAllAsync().ToListAsync()).Select(r => r.ResponseId));
        Assert.Equal(1, reopened.TornLines);

        await reopened.AppendAsync(FeedbackRecord.Thumbs("r4", "p", "fine", up: true));
        Assert.Equal(2, reopened.TornLines);
        Assert.Equal(["r1", "r2", "r4"], (await reopened.ReadAllAsync().ToListAsync()).Select(r => r.ResponseId));
        Assert.Equal(whole.Length, File.ReadAllLines(FilePath).Take(2).Sum(l => Encoding.UTF8.GetByteCount(l) + 1));
    }

    [Fact]
    public async Task CompleteLastRecord_WithoutItsLineBreak_IsKept()
    {
        using (var store = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = FilePath }))
        {
            await store.AppendAsync(FeedbackRecord.Thumbs("r1", "p", "good", up: true));
        }

        File.WriteAllBytes(FilePath, File.ReadAllBytes(FilePath)[..^1]);
        using var reopened = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = FilePath });
        await reopened.AppendAsync(FeedbackRecord.Thumbs("r2", "p", "bad", up: false));
        Assert.Equal(["r1", "r2"], (await reopened.ReadAllAsync().ToListAsync()).Select(r => r.ResponseId));
        Assert.Equal(0, reopened.TornLines);
    }

    [Fact]
    public async Task CorruptLineInTheMiddle_ThrowsNamingFileAndLine()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        await File.WriteAllTextAsync(FilePath, "{\"response_id\":\"r1\",\"kind\":\"thumbs\",\"prompt\":\"p\",\"responses\":[\"a\"],\"thumbs_up\":true}\nnot json\n{\"response_id\":\"r2\",\"kind\":\"thumbs\",\"prompt\":\"p\",\"responses\":[\"b\"],\"thumbs_up\":false}\n");
        using var store = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = FilePath });
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(async () => await store.ReadAllAsync().ToListAsync());
        Assert.Equal(2, ex.LineNumber);
        Assert.Equal(FilePath, ex.FilePath);
    }

    [Fact]
    public async Task RecordMissingAField_ThrowsNamingTheLine()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        await File.WriteAllTextAsync(FilePath, "{\"response_id\":\"r1\",\"kind\":\"thumbs\",\"prompt\":\"p\",\"responses\":[\"a\"]}\n");
        var ex = await Assert.ThrowsAsync<InvalidDataFileException>(async () => await JsonLinesFeedbackStore.ReadFileAsync(FilePath).ToListAsync());
        Assert.Equal(1, ex.LineNumber);
        Assert.Contains("thumbs_up", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MalformedRecord_IsRefusedAndNothingIsWritten()
    {
        using var store = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = FilePath });
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(FeedbackRecord.Ranked("r1", "p", ["only one"], [1])));
        Assert.Contains("at least two responses", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(FeedbackRecord.Scored("r1", "p", "a", double.NaN)));
        await Assert.ThrowsAsync<ArgumentException>(() => store.AppendAsync(FeedbackRecord.Thumbs(" ", "p", "a", up: true)));
        Assert.False(File.Exists(FilePath));
    }

    [Fact]
    public async Task Redact_RewritesEachRecordBeforeItIsWritten()
    {
        var options = new JsonLinesFeedbackStoreOptions
        {
            Path = FilePath,
            Redact = r => r with { Prompt = r.Prompt.Replace("ann@example.com", "[email]", StringComparison.Ordinal) },
        };
        using var store = new JsonLinesFeedbackStore(options);
        await store.AppendAsync(FeedbackRecord.Thumbs("r1", "Mail ann@example.com the invoice", "Done.", up: true));
        Assert.DoesNotContain("ann@example.com", await File.ReadAllTextAsync(FilePath), StringComparison.Ordinal);
        Assert.Equal("Mail [email] the invoice", (await store.ReadAllAsync().SingleAsync()).Prompt);
    }

    [Fact]
    public async Task ConcurrentAppends_EachLandWholeOnItsOwnLine()
    {
        using var store = new JsonLinesFeedbackStore(new JsonLinesFeedbackStoreOptions { Path = FilePath, FlushToDisk = false });
        var text = new string('x', 5000);
        await Parallel.ForAsync(0, 64, async (i, ct) => await store.AppendAsync(FeedbackRecord.Scored($"r{i}", "p", text + i, i), ct));
        var records = await store.ReadAllAsync().ToListAsync();
        Assert.Equal(64, records.Count);
        Assert.Equal(Enumerable.Range(0, 64).Select(i => $"r{i}").Order(), records.Select(r => r.ResponseId).Order());
    }

    [Fact]
    public async Task AddJsonLinesFeedbackStore_ResolvesOneStore_AndRefusesAMissingPathAtStartUp()
    {
        var services = new ServiceCollection();
        services.AddLlmAdapt(llm => llm.AddJsonLinesFeedbackStore(o => o.Path = FilePath).AddJsonLinesFeedbackStore());
        Assert.Single(services, d => d.ServiceType == typeof(IFeedbackStore));
        await using (var provider = services.BuildServiceProvider())
        {
            var store = provider.GetRequiredService<IFeedbackStore>();
            Assert.Same(store, provider.GetRequiredService<JsonLinesFeedbackStore>());
            await store.AppendAsync(FeedbackRecord.Thumbs("r1", "p", "a", up: true));
            Assert.True(File.Exists(FilePath));
        }

        var bad = new ServiceCollection();
        bad.AddLlmAdapt(llm => llm.AddJsonLinesFeedbackStore());
        await using var badProvider = bad.BuildServiceProvider();
        var error = Assert.Throws<OptionsValidationException>(() => badProvider.GetRequiredService<IOptions<JsonLinesFeedbackStoreOptions>>().Value);
        Assert.Contains(nameof(JsonLinesFeedbackStoreOptions.Path), error.Message, StringComparison.Ordinal);
    }
}

public sealed class FeedbackExportTests
{
    [Fact]
    public void Thumbs_MakePairsOnlyWhereAPromptHasBothUpAndDown()
    {
        FeedbackRecord[] records =
        [
            FeedbackRecord.Thumbs("1", "capital of France?", "Paris", up: true),
            FeedbackRecord.Thumbs("2", "capital of France?", "Lyon", up: false),
            FeedbackRecord.Thumbs("3", "capital of France?", "Paris", up: true),
            FeedbackRecord.Thumbs("4", "capital of France?", "Marseille", up: true),
            FeedbackRecord.Thumbs("5", "capital of France?", "Marseille", up: false),
            FeedbackRecord.Thumbs("6", "2+2?", "4", up: true),
            FeedbackRecord.Thumbs("7", "3+3?", "7", up: false),
            FeedbackRecord.Thumbs("8", "3+3?", "8", up: false),
        ];

        var (rankings, pairs) = FeedbackExport.ToPairs(records);

        Assert.Equal(8, rankings.Records);
        var ranking = Assert.Single(rankings.Rankings);
        Assert.Equal(["Paris", "Lyon"], ranking.Responses);
        var pair = Assert.Single(pairs);
        Assert.Equal(("capital of France?", "Paris", "Lyon"), (pair.Prompt, pair.Chosen, pair.Rejected));
        Assert.Equal(2, rankings.Dropped[FeedbackDropReason.ThumbsTied]);
        Assert.Equal(1, rankings.Dropped[FeedbackDropReason.ThumbsUpOnly]);
        Assert.Equal(2, rankings.Dropped[FeedbackDropReason.ThumbsDownOnly]);
        Assert.Equal(records.Length, rankings.Dropped.Values.Sum() + 3);
    }

    [Fact]
    public void Scores_ArePooledPerPrompt_AsMeans()
    {
        FeedbackRecord[] records =
        [
            FeedbackRecord.Scored("1", "p", "a", 1),
            FeedbackRecord.Scored("2", "p", "b", 4),
            FeedbackRecord.Scored("3", "p", "a", 9),
            FeedbackRecord.Scored("4", "q", "lonely", 3),
        ];

        var (rankings, pairs) = FeedbackExport.ToPairs(records);

        var pair = Assert.Single(pairs);
        Assert.Equal(("a", "b", 1.0), (pair.Chosen, pair.Rejected, pair.Margin!.Value));
        var ranking = Assert.Single(rankings.Rankings);
        Assert.Equal([5.0, 4.0], ranking.Scores!);
        Assert.Equal(1, rankings.Dropped[FeedbackDropReason.SingleScoredResponse]);
    }

    [Fact]
    public void Rankings_FollowTheStrategy()
    {
        var record = FeedbackRecord.Ranked("1", "p", ["w", "x", "y", "z"], [1, 2, 3, 3]);
        Assert.Equal(5, FeedbackExport.ToPairs([record], PairingStrategy.AllPairs).Pairs.Count);
        Assert.Equal(3, FeedbackExport.ToPairs([record], PairingStrategy.BestVersusRest).Pairs.Count);
        Assert.Equal(3, FeedbackExport.ToPairs([record], PairingStrategy.Adjacent).Pairs.Count);
    }
}
