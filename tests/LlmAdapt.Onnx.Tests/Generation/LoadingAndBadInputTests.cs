using OnnxProto = Onnx;
using LlmAdapt.Onnx.Generation;

namespace LlmAdapt.Onnx.Tests.Generation;

public sealed class LoadingAndBadInputTests : IDisposable
{
    private readonly string _temp = Path.Combine(Path.GetTempPath(), "llmadapt-gen-" + Guid.NewGuid().ToString("N"));

    public LoadingAndBadInputTests() => Directory.CreateDirectory(_temp);

    public void Dispose() => Directory.Delete(_temp, recursive: true);

    [Fact]
    public void Load_ReadsBothFixtureLayoutsFromTheirMetadata()
    {
        var gpt2 = GenerationModels.Gpt2;
        var llama = GenerationModels.Llama;

        Assert.Equal(DecoderModelLayout.OnnxRuntimeGenAI, gpt2.Layout);
        Assert.Equal((1000, 512, 5), (gpt2.VocabularySize, gpt2.ContextLength, gpt2.LayerCount));
        Assert.Equal([98], gpt2.EosTokenIds);
        Assert.Equal((32000, 2048, 2), (llama.VocabularySize, llama.ContextLength, llama.LayerCount));
        Assert.Equal([1], llama.EosTokenIds);
        Assert.NotNull(gpt2.Tokenizer);
        Assert.NotNull(llama.Tokenizer);
    }

    [Fact]
    public void Load_OptimumExport_DecodesLikeTheGenAIFolder()
    {
        // An Optimum Llama export has the same graph names (past_key_values.%d.key, present.%d.key); only the folder differs.
        var folder = CopyFixture(GenerationModels.LlamaDirectory, "optimum", "genai_config.json");
        File.WriteAllText(Path.Combine(folder, "config.json"), """
            {
              "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 16, "num_attention_heads": 1,
              "num_key_value_heads": 1, "num_hidden_layers": 2, "vocab_size": 32000, "max_position_embeddings": 2048,
              "bos_token_id": 0, "eos_token_id": 1, "pad_token_id": 2
            }
            """);

        using var optimum = OnnxDecoderModel.Load(folder);
        int[] prompt = [1, 15043, 3186, 29892];
        var options = new GenerationOptions { MaxNewTokens = 20 };

        Assert.Equal(DecoderModelLayout.HuggingFaceOptimum, optimum.Layout);
        Assert.Equal(Path.Combine(folder, "model.onnx"), optimum.ModelPath);
        Assert.Equal(GenerationModels.Llama.Generate(prompt, options).TokenIds, optimum.Generate(prompt, options).TokenIds);
    }

    [Fact]
    public void Load_OptimumMergedDecoder_FeedsUseCacheBranch()
    {
        // decoder_model_merged.onnx takes a bool use_cache_branch; here the Llama graph gains that input (unused by its
        // nodes), so the run proves it is fed on the prompt step and on every cached step.
        var folder = CopyFixture(GenerationModels.LlamaDirectory, "merged", "genai_config.json", "model.onnx");
        var model = OnnxProto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(GenerationModels.LlamaDirectory, "model.onnx")));
        model.Graph.Input.Add(Input("use_cache_branch", OnnxProto.TensorProto.Types.DataType.Bool, 1));
        File.WriteAllBytes(Path.Combine(folder, "decoder_model_merged.onnx"), Google.Protobuf.MessageExtensions.ToByteArray(model));
        File.WriteAllText(Path.Combine(folder, "config.json"), """
            { "model_type": "llama", "hidden_size": 16, "num_attention_heads": 1, "num_key_value_heads": 1, "num_hidden_layers": 2,
              "vocab_size": 32000, "max_position_embeddings": 2048, "eos_token_id": 1 }
            """);

        using var merged = OnnxDecoderModel.Load(folder);
        int[] prompt = [1, 450, 4996, 17354];
        var options = new GenerationOptions { MaxNewTokens = 12 };

        Assert.Equal(Path.Combine(folder, "decoder_model_merged.onnx"), merged.ModelPath);
        Assert.Equal(GenerationModels.Llama.Generate(prompt, options).TokenIds, merged.Generate(prompt, options).TokenIds);
    }

    [Fact]
    public void Load_GraphWithAnInputItCannotFeed_ThrowsNamingIt()
    {
        var folder = CopyFixture(GenerationModels.Gpt2Directory, "extra-input", "past.onnx");
        var model = OnnxProto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(GenerationModels.Gpt2Directory, "past.onnx")));
        model.Graph.Input.Add(Input("num_logits_to_keep", OnnxProto.TensorProto.Types.DataType.Int64, 1));
        File.WriteAllBytes(Path.Combine(folder, "past.onnx"), Google.Protobuf.MessageExtensions.ToByteArray(model));

        var ex = Assert.Throws<ModelLoadException>(() => OnnxDecoderModel.Load(folder));

        Assert.Contains("num_logits_to_keep", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_MissingFolder_Throws()
    {
        var missing = Path.Combine(_temp, "nope");
        var ex = Assert.Throws<ModelLoadException>(() => OnnxDecoderModel.Load(missing));
        Assert.Equal(missing, ex.FilePath);
    }

    [Fact]
    public void Load_UnknownLayout_ThrowsListingWhatItFound()
    {
        File.WriteAllText(Path.Combine(_temp, "weights.bin"), "x");
        var ex = Assert.Throws<ModelLoadException>(() => OnnxDecoderModel.Load(_temp));
        Assert.Contains("unknown model layout", ex.Message, StringComparison.Ordinal);
        Assert.Contains("weights.bin", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_GitLfsPointer_ThrowsNamingIt()
    {
        var folder = CopyFixture(GenerationModels.Gpt2Directory, "lfs");
        File.WriteAllText(Path.Combine(folder, "past.onnx"), "version https://git-lfs.github.com/spec/v1\noid sha256:f618eca0cd9025bb2b834ffa21ba3755f1313e857ddd42601d8ab922016e791d\nsize 578141\n");

        var ex = Assert.Throws<ModelLoadException>(() => OnnxDecoderModel.Load(folder));

        Assert.Equal(Path.Combine(folder, "past.onnx"), ex.FilePath);
        Assert.Contains("Git LFS pointer", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_CorruptModel_WrapsOnnxRuntimeError()
    {
        var folder = CopyFixture(GenerationModels.Gpt2Directory, "corrupt");
        var bytes = File.ReadAllBytes(Path.Combine(folder, "past.onnx"));
        File.WriteAllBytes(Path.Combine(folder, "past.onnx"), bytes.AsSpan(0, bytes.Length / 3).ToArray());

        var ex = Assert.Throws<ModelLoadException>(() => OnnxDecoderModel.Load(folder));

        Assert.Equal(Path.Combine(folder, "past.onnx"), ex.FilePath);
        Assert.IsType<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(ex.InnerException);
    }

    [Fact]
    public void Load_CorruptConfig_ThrowsWithLine()
    {
        var folder = CopyFixture(GenerationModels.Gpt2Directory, "badjson");
        File.WriteAllText(Path.Combine(folder, "genai_config.json"), "{\n  \"model\": {\n    \"type\": \"gpt2\",,\n  }\n}");

        var ex = Assert.Throws<ModelLoadException>(() => OnnxDecoderModel.Load(folder));

        Assert.Contains("line 3", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_PromptLongerThanContext_ThrowsWithBothNumbers()
    {
        var prompt = Enumerable.Range(0, 600).Select(i => i % 1000).ToArray();

        var ex = Assert.Throws<TokenBudgetExceededException>(() => GenerationModels.Gpt2.Generate(prompt));

        Assert.Equal(600, ex.RequiredTokens);
        Assert.Equal(511, ex.BudgetTokens);
        Assert.Contains("600", ex.Message, StringComparison.Ordinal);
        Assert.Contains("512", ex.Message, StringComparison.Ordinal);
        Assert.Contains("prompt 1", Assert.Throws<TokenBudgetExceededException>(() => GenerationModels.Gpt2.Generate([[1, 2], prompt])).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generate_IdOutsideVocabulary_ThrowsWithIdAndSize()
    {
        var ex = Assert.Throws<TokenIdOutOfRangeException>(() => GenerationModels.Gpt2.Generate([[5, 6], [7, 1000]]));

        Assert.Equal((1, 1, 1000, 1000), (ex.PromptIndex, ex.Position, ex.TokenId, ex.VocabularySize));
        Assert.Contains("Prompt 1, position 1: id 1000", ex.Message, StringComparison.Ordinal);
        Assert.Contains("1000 ids", ex.Message, StringComparison.Ordinal);
        var negative = Assert.Throws<TokenIdOutOfRangeException>(() => GenerationModels.Gpt2.Generate([3, -1]));
        Assert.Equal((0, 1, -1), (negative.PromptIndex, negative.Position, negative.TokenId));
        Assert.IsAssignableFrom<LlmAdaptException>(negative);
        Assert.Throws<ArgumentException>(() => GenerationModels.Gpt2.Generate(Array.Empty<int>()));
    }

    [Fact]
    public void Generate_NearTheContextEnd_StopsAtContextLength()
    {
        var prompt = Enumerable.Range(0, 505).Select(i => (i * 7) % 1000).ToArray();

        var result = GenerationModels.Gpt2.Generate(prompt, new GenerationOptions { MaxNewTokens = 50 });

        Assert.Equal(GenerationFinishReason.ContextLength, result.FinishReason);
        Assert.Equal(512, result.Sequence.Count);
    }

    [Fact]
    public async Task ConcurrentRequests_OnOneModel_EqualSequentialResults()
    {
        var model = GenerationModels.Gpt2;
        var prompts = Enumerable.Range(0, 8).Select(i => new[] { i * 3, 500 - i, 17 + i, i }).ToArray();
        GenerationOptions Options(int i) => new() { MaxNewTokens = 32, Temperature = i % 2 == 0 ? 0 : 0.9, Seed = i };

        var sequential = prompts.Select((p, i) => model.Generate(p, Options(i)).TokenIds).ToArray();
        var concurrent = await Task.WhenAll(prompts.Select((p, i) => Task.Run(() => model.Generate(p, Options(i)).TokenIds)));

        for (var i = 0; i < prompts.Length; i++)
        {
            Assert.Equal(sequential[i], concurrent[i]);
        }
    }

    private static OnnxProto.ValueInfoProto Input(string name, OnnxProto.TensorProto.Types.DataType type, long size) => new()
    {
        Name = name,
        Type = new OnnxProto.TypeProto
        {
            TensorType = new OnnxProto.TypeProto.Types.Tensor
            {
                ElemType = (int)type,
                Shape = new OnnxProto.TensorShapeProto { Dim = { new OnnxProto.TensorShapeProto.Types.Dimension { DimValue = size } } },
            },
        },
    };

    private string CopyFixture(string source, string name, params string[] skip)
    {
        var folder = Path.Combine(_temp, name);
        Directory.CreateDirectory(folder);
        foreach (var file in Directory.EnumerateFiles(source))
        {
            if (!skip.Contains(Path.GetFileName(file)))
            {
                File.Copy(file, Path.Combine(folder, Path.GetFileName(file)));
            }
        }

        return folder;
    }
}
