using System.Text.Json;
using System.Text.Json.Nodes;
using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Generation;

/// <summary>What a model folder's <c>genai_config.json</c> or <c>config.json</c> says about the decoder.</summary>
internal sealed record DecoderModelConfig
{
    private const string LfsPointerStart = "version https://git-lfs.github.com/spec/";

    public required DecoderModelLayout Layout { get; init; }

    public required string ModelPath { get; init; }

    public string InputIdsName { get; init; } = "input_ids";

    public string AttentionMaskName { get; init; } = "attention_mask";

    public string PositionIdsName { get; init; } = "position_ids";

    public string LogitsName { get; init; } = "logits";

    public string PastKeyName { get; init; } = "past_key_values.%d.key";

    public string PastValueName { get; init; } = "past_key_values.%d.value";

    public string PresentKeyName { get; init; } = "present.%d.key";

    public string PresentValueName { get; init; } = "present.%d.value";

    /// <summary>GPT-2-style combined key and value per layer (<c>past_%d</c>), or <see langword="null"/> for split names.</summary>
    public string? CombinedPastName { get; init; }

    public string? CombinedPresentName { get; init; }

    public int? LayerCount { get; init; }

    public int? KeyValueHeads { get; init; }

    public int? HeadSize { get; init; }

    public int? VocabularySize { get; init; }

    public int? ContextLength { get; init; }

    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public int? BosTokenId { get; init; }

    public int? PadTokenId { get; init; }

    public string? ModelType { get; init; }

    /// <summary>ONNX Runtime GenAI's <c>decoder.session_options.intra_op_num_threads</c>, when the folder sets it.</summary>
    public int? IntraOpThreads { get; init; }

    /// <summary>Finds the layout of <paramref name="directory"/> and reads its config; throws <see cref="ModelLoadException"/> naming the file.</summary>
    public static DecoderModelConfig Read(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new ModelLoadException(directory, File.Exists(directory) ? "expected a model folder, got a file." : "no such folder.", null);
        }

        var genai = Path.Combine(directory, "genai_config.json");
        if (File.Exists(genai))
        {
            return ReadGenAI(genai, directory);
        }

        var hf = Path.Combine(directory, "config.json");
        var onnxFile = new[] { "decoder_model_merged.onnx", "model.onnx", "decoder_with_past_model.onnx" }
            .Select(f => Path.Combine(directory, f)).FirstOrDefault(File.Exists);
        if (File.Exists(hf) && onnxFile is not null)
        {
            return ReadOptimum(hf, onnxFile);
        }

        var found = Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(12).ToList();
        throw new ModelLoadException(
            directory,
            "unknown model layout: expected genai_config.json (ONNX Runtime GenAI) or config.json with model.onnx or decoder_model_merged.onnx (Hugging Face Optimum); "
            + $"found {(found.Count == 0 ? "an empty folder" : string.Join(", ", found))}.",
            null);
    }

    /// <summary>Refuses a Git LFS pointer or an empty file where model weights should be, before ONNX Runtime gives a vaguer error.</summary>
    public static void CheckWeightsFile(string path)
    {
        if (!File.Exists(path))
        {
            throw new ModelLoadException(path, "no such file.", null);
        }

        var length = new FileInfo(path).Length;
        if (length == 0)
        {
            throw new ModelLoadException(path, "the file is empty.", null);
        }

        if (length < 1024)
        {
            var head = File.ReadAllText(path);
            if (head.StartsWith(LfsPointerStart, StringComparison.Ordinal))
            {
                throw new ModelLoadException(path, $"this is a Git LFS pointer ({length} bytes), not the model; run 'git lfs pull' in the repository it came from.", null);
            }
        }
    }

    private static JsonObject ParseObject(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                ?? throw new ModelLoadException(path, "expected a JSON object.", null);
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException(path, $"invalid JSON at line {ex.LineNumber + 1}: {ex.Message}", ex);
        }
    }

    private static DecoderModelConfig ReadGenAI(string path, string directory)
    {
        var root = ParseObject(path);
        var model = root["model"] as JsonObject ?? throw new ModelLoadException(path, "missing object 'model'.", null);
        var decoder = model["decoder"] as JsonObject ?? throw new ModelLoadException(path, "missing object 'model.decoder'.", null);
        var fileName = String(decoder, "filename") ?? throw new ModelLoadException(path, "missing 'model.decoder.filename'.", null);
        var inputs = decoder["inputs"] as JsonObject ?? [];
        var outputs = decoder["outputs"] as JsonObject ?? [];
        var combinedPast = String(inputs, "past_names");
        var defaults = new DecoderModelConfig { Layout = DecoderModelLayout.OnnxRuntimeGenAI, ModelPath = "" };
        return new DecoderModelConfig
        {
            Layout = DecoderModelLayout.OnnxRuntimeGenAI,
            ModelPath = Path.Combine(directory, fileName),
            ModelType = String(model, "type"),
            InputIdsName = String(inputs, "input_ids") ?? defaults.InputIdsName,
            AttentionMaskName = String(inputs, "attention_mask") ?? defaults.AttentionMaskName,
            PositionIdsName = String(inputs, "position_ids") ?? defaults.PositionIdsName,
            PastKeyName = String(inputs, "past_key_names") ?? defaults.PastKeyName,
            PastValueName = String(inputs, "past_value_names") ?? defaults.PastValueName,
            CombinedPastName = combinedPast,
            LogitsName = String(outputs, "logits") ?? defaults.LogitsName,
            PresentKeyName = String(outputs, "present_key_names") ?? defaults.PresentKeyName,
            PresentValueName = String(outputs, "present_value_names") ?? defaults.PresentValueName,
            CombinedPresentName = combinedPast is null ? null : String(outputs, "present_names") ?? "present_%d",
            IntraOpThreads = decoder["session_options"] is JsonObject sessionOptions ? Int(sessionOptions, "intra_op_num_threads") : null,
            LayerCount = Int(decoder, "num_hidden_layers"),
            KeyValueHeads = Int(decoder, "num_key_value_heads"),
            HeadSize = Int(decoder, "head_size"),
            VocabularySize = Int(model, "vocab_size"),
            ContextLength = Int(model, "context_length"),
            EosTokenIds = Ints(model, "eos_token_id"),
            BosTokenId = Int(model, "bos_token_id"),
            PadTokenId = Int(model, "pad_token_id"),
        };
    }

    private static DecoderModelConfig ReadOptimum(string path, string onnxFile)
    {
        // config.json through the one record; sizes the file leaves out stay unknown here (the graph's shapes tell them).
        var hf = HuggingFaceModelConfig.Read(path);
        var heads = hf.NumAttentionHeads ?? hf.NHead;
        var hidden = hf.HiddenSize ?? hf.NEmbd;
        IReadOnlyList<int> eos = hf.EosTokenIds ?? [];
        var generationConfig = Path.Combine(Path.GetDirectoryName(path)!, "generation_config.json");
        if (File.Exists(generationConfig))
        {
            var fromGeneration = Ints(ParseObject(generationConfig), "eos_token_id");
            eos = [.. eos.Union(fromGeneration)];
        }

        return new DecoderModelConfig
        {
            Layout = DecoderModelLayout.HuggingFaceOptimum,
            ModelPath = onnxFile,
            ModelType = string.IsNullOrEmpty(hf.ModelType) ? null : hf.ModelType,
            LayerCount = hf.NumHiddenLayers ?? hf.NLayer,
            KeyValueHeads = hf.NumKeyValueHeads ?? heads,
            HeadSize = hf.HeadDim ?? (hidden is int h && heads is int n && n > 0 ? h / n : null),
            VocabularySize = hf.VocabSize,
            ContextLength = hf.MaxPositionEmbeddings ?? hf.NPositions ?? (hf.Extra is { } extra && extra.TryGetValue("n_ctx", out var nCtx) && nCtx.ValueKind == JsonValueKind.Number ? nCtx.GetInt32() : null),
            EosTokenIds = eos,
            BosTokenId = hf.BosTokenId,
            PadTokenId = hf.PadTokenId,
        };
    }

    private static string? String(JsonObject o, string name)
        => o[name] is JsonValue v && v.TryGetValue<string>(out var s) && s.Length > 0 ? s : null;

    private static int? Int(JsonObject o, string name)
        => o[name] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;

    private static int[] Ints(JsonObject o, string name) => o[name] switch
    {
        JsonValue v when v.TryGetValue<int>(out var i) => [i],
        JsonArray a => [.. a.OfType<JsonValue>().Select(x => x.TryGetValue<int>(out var i) ? i : -1).Where(i => i >= 0)],
        _ => [],
    };
}
