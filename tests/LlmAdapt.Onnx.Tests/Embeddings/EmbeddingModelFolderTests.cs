using LlmAdapt.Onnx.Embeddings;

namespace LlmAdapt.Onnx.Tests.Embeddings;

public sealed class EmbeddingModelFolderTests(ModelFolderFixture folders) : IClassFixture<ModelFolderFixture>
{
    [Fact]
    public async Task Create_FromFolderWithVocab_MatchesBuiltInModel()
    {
        using var generator = OnnxEmbeddingGenerator.Create(folders.VocabFolder);
        using var builtIn = OnnxEmbeddingGenerator.CreateDefault();

        var fromFolder = await generator.GenerateAsync([EmbeddingTestData.CheckSentence]);
        var expected = await builtIn.GenerateAsync([EmbeddingTestData.CheckSentence]);

        Assert.Equal("minilm-vocab", generator.ModelId);
        Assert.Equal(256, generator.MaxSequenceLength);
        Assert.Equal(384, generator.Dimensions);
        Assert.True(EmbeddingTestData.Cosine(expected[0].Vector.Span, fromFolder[0].Vector.Span) > 0.99999);
    }

    [Fact]
    public async Task Create_FromFolderWithTokenizerJsonInOnnxSubfolder_TokenizesTheSame()
    {
        var folder = folders.NewFolder("tokenizer-json");
        Directory.CreateDirectory(Path.Combine(folder, "onnx"));
        File.WriteAllBytes(Path.Combine(folder, "onnx", "model.onnx"), folders.ModelBytes);
        folders.WriteTokenizerJson(folder);
        using var generator = OnnxEmbeddingGenerator.Create(folder, new OnnxEmbeddingOptions { ModelId = "custom", Pooling = EmbeddingPooling.Cls, Normalize = false });
        using var builtIn = OnnxEmbeddingGenerator.CreateDefault();
        var text = "Héllo, Wörld! Unaffordable tokenization of CAPITALS.";

        Assert.Equal(builtIn.Tokenizer.EncodeToIds(text), generator.Tokenizer.EncodeToIds(text));
        var cls = await generator.GenerateAsync([text]);
        var mean = await builtIn.GenerateAsync([text]);
        Assert.Equal("custom", cls[0].ModelId);
        Assert.Equal(512, generator.MaxSequenceLength);

        // CLS pooling without normalisation is a different vector, not of unit length.
        var norm = Math.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(cls[0].Vector.Span, cls[0].Vector.Span));
        Assert.True(Math.Abs(norm - 1) > 0.01, $"norm {norm}");
        Assert.True(EmbeddingTestData.Cosine(cls[0].Vector.Span, mean[0].Vector.Span) < 0.999);
    }

    [Fact]
    public void MissingFolder_ThrowsNamingIt()
    {
        var path = Path.Combine(folders.Root, "does-not-exist");
        var ex = Assert.Throws<ModelLoadException>(() => OnnxEmbeddingGenerator.Create(path));
        Assert.Equal(path, ex.FilePath);
    }

    [Fact]
    public void MissingModelFile_ThrowsNamingIt()
    {
        var folder = folders.NewFolder("no-model");
        File.WriteAllBytes(Path.Combine(folder, "vocab.txt"), folders.VocabBytes);

        var ex = Assert.Throws<ModelLoadException>(() => OnnxEmbeddingGenerator.Create(folder));
        Assert.Equal(Path.Combine(folder, "model.onnx"), ex.FilePath);
    }

    [Fact]
    public void MissingVocabulary_ThrowsNamingIt()
    {
        var folder = folders.NewFolder("no-vocab");
        File.WriteAllText(Path.Combine(folder, "model.onnx"), "x");

        var ex = Assert.Throws<ModelLoadException>(() => OnnxEmbeddingGenerator.Create(folder));
        Assert.Contains("vocab.txt", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GitLfsPointer_ThrowsSayingSo()
    {
        var folder = folders.NewFolder("lfs");
        File.WriteAllBytes(Path.Combine(folder, "vocab.txt"), folders.VocabBytes);
        File.WriteAllText(Path.Combine(folder, "model.onnx"), "version https://git-lfs.github.com/spec/v1\noid sha256:4f1d3c2e0b\nsize 90893304\n");

        var ex = Assert.Throws<ModelLoadException>(() => OnnxEmbeddingGenerator.Create(folder));
        Assert.Equal(Path.Combine(folder, "model.onnx"), ex.FilePath);
        Assert.Contains("Git LFS pointer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TruncatedModel_ThrowsNamingIt()
    {
        var folder = folders.NewFolder("truncated");
        File.WriteAllBytes(Path.Combine(folder, "vocab.txt"), folders.VocabBytes);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), folders.ModelBytes.AsSpan(0, 1_000_000).ToArray());

        var ex = Assert.Throws<ModelLoadException>(() => OnnxEmbeddingGenerator.Create(folder));
        Assert.Equal(Path.Combine(folder, "model.onnx"), ex.FilePath);
        Assert.IsType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(ex.InnerException);
    }

    [Fact]
    public void CorruptModel_ThrowsNamingIt()
    {
        var folder = folders.NewFolder("corrupt");
        File.WriteAllBytes(Path.Combine(folder, "vocab.txt"), folders.VocabBytes);
        var bytes = new byte[4096];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), bytes);

        var ex = Assert.Throws<ModelLoadException>(() => OnnxEmbeddingGenerator.Create(folder));
        Assert.Equal(Path.Combine(folder, "model.onnx"), ex.FilePath);
    }

    [Fact]
    public void ModelWhoseInputsAreNotBerts_ThrowsListingThem()
    {
        var folder = folders.NewFolder("gpt2");
        File.WriteAllBytes(Path.Combine(folder, "vocab.txt"), folders.VocabBytes);
        File.Copy(EmbeddingTestData.PathOf("models/onnxruntime-genai/tiny-random-gpt2-fp32/past.onnx"), Path.Combine(folder, "model.onnx"));

        var ex = Assert.Throws<ModelLoadException>(() => OnnxEmbeddingGenerator.Create(folder));
        Assert.Contains("not a BERT encoder", ex.Message, StringComparison.Ordinal);
        Assert.Contains("position_ids", ex.Message, StringComparison.Ordinal);
    }
}
