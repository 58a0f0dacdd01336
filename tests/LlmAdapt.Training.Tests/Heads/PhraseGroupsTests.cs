using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Internal;

namespace LlmAdapt.Training.Tests.Heads;

public sealed class PhraseGroupsTests
{
    [Fact]
    public void PhrasesJoinTheLongestSentenceTheyAreARunOf()
    {
        string[] texts =
        [
            "charming journey",
            "it 's a charming and often affecting journey .",
            "a dull , lifeless film",
            "often affecting",
            "lifeless film",
            "charming and", // a run of words of sentence 1
            "journey charming", // words of sentence 1, but not a run: its own group
        ];

        var roots = PhraseGroups.Assign(texts);

        Assert.Equal(1, roots[1]);
        Assert.Equal(1, roots[3]);
        Assert.Equal(1, roots[5]);
        Assert.Equal(2, roots[2]);
        Assert.Equal(2, roots[4]);
        Assert.Equal(0, roots[0]); // "charming journey" is not a run of sentence 1 ("affecting journey" is)
        Assert.Equal(6, roots[6]);
    }

    [Fact]
    public void Split_KeepsEachGroupOnOneSide_AndHoldsOutAboutTheShareAsked()
    {
        // 200 "sentences" of 6 words, each with its 5 two-word phrases: 1,200 texts in 200 groups.
        var texts = new List<string>();
        for (var s = 0; s < 200; s++)
        {
            var words = Enumerable.Range(0, 6).Select(w => $"w{s}x{w}").ToArray();
            texts.Add(string.Join(' ', words));
            texts.AddRange(Enumerable.Range(0, 5).Select(w => $"{words[w]} {words[w + 1]}"));
        }

        var roots = PhraseGroups.Assign(texts);
        var (train, held) = PhraseGroups.Split(roots, 0.1, new Random(1));

        Assert.Equal(200, roots.Distinct().Count());
        Assert.Equal(texts.Count, train.Length + held.Length);
        Assert.InRange(held.Length, 114, 126);
        var heldRoots = held.Select(i => roots[i]).ToHashSet();
        Assert.DoesNotContain(train, i => heldRoots.Contains(roots[i]));
    }

    [Fact]
    public async Task BySourceTextSplit_HoldsOutWholeSentencesWithTheirPhrases()
    {
        // Phrases carry their sentence's label; a random split would put phrases of held-out sentences in training.
        var examples = new List<TrainingExample>();
        for (var s = 0; s < 60; s++)
        {
            var label = s % 2 == 0 ? "pos" : "neg";
            var words = Enumerable.Range(0, 5).Select(w => $"s{s}w{w}").ToArray();
            examples.Add(new TrainingExample { Input = string.Join(' ', words), Label = label });
            examples.Add(new TrainingExample { Input = $"{words[1]} {words[2]}", Label = label });
            examples.Add(new TrainingExample { Input = words[3], Label = label });
        }

        var dir = Directory.CreateTempSubdirectory("llmadapt-groups-").FullName;
        try
        {
            var options = new TaskHeadOptions { ValidationSplit = ValidationSplit.BySourceText, ValidationFraction = 0.2, MaxEpochs = 2 };
            var artifact = await new TaskHeadTrainer(HashingEmbeddingGenerator.WordsAndBigrams(64, "test/hashing-64"), options)
                .FineTuneAsync(new FineTuningRequest { TrainingSet = examples, OutputPath = dir });

            // The split itself: recompute it as the trainer does and check no group straddles it.
            var roots = PhraseGroups.Assign(examples.Select(e => e.Input).ToArray());
            var (train, held) = PhraseGroups.Split(roots, 0.2, new Random(42));
            Assert.Equal(36, held.Length); // 12 of 60 sentences, 3 texts each
            Assert.Empty(train.Select(i => roots[i]).Intersect(held.Select(i => roots[i])));
            Assert.True(artifact.Report.Metrics.ContainsKey("accuracy"));

            // The trainer's own split, seen in its validation accuracy: each sentence's words are hashed features of
            // their own, so under BySourceText the held-out sentences are unseen (chance), while a stratified split puts
            // their phrases into training and scores what it has seen.
            async Task<double> AccuracyAsync(ValidationSplit split, string name) => (await new TaskHeadTrainer(HashingEmbeddingGenerator.WordsAndBigrams(4096, "test/hashing-4096"), new TaskHeadOptions { ValidationSplit = split, ValidationFraction = 0.2, MaxEpochs = 40 })
                .FineTuneAsync(new FineTuningRequest { TrainingSet = examples, OutputPath = Path.Combine(dir, name) })).Report.Metrics["accuracy"];
            var grouped = await AccuracyAsync(ValidationSplit.BySourceText, "grouped");
            var leaky = await AccuracyAsync(ValidationSplit.Stratified, "stratified");
            Assert.True(grouped <= 0.6, $"BySourceText validation accuracy {grouped}: held-out sentences leaked into training");
            Assert.True(leaky >= 0.75, $"stratified validation accuracy {leaky}");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
