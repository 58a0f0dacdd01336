using System.Text.Json;
using System.Text.Json.Nodes;
using Google.Protobuf;
using LlmAdapt.Formats;

namespace LlmAdapt.Onnx.Export;

/// <summary>
/// Exports a GPT-2 or Llama checkpoint in Hugging Face's layout (<c>config.json</c> + <c>model.safetensors</c>, as
/// LlmAdapt's training engine writes it and Hugging Face saves it), optionally with a PEFT LoRA adapter merged in or
/// kept as separate LoRA inputs, to an ONNX decoder with a KV cache (fp32, or fp16 weights): a folder with
/// <c>model.onnx</c>, <c>genai_config.json</c> and the tokenizer files, which
/// <see cref="Generation.OnnxDecoderModel.Load"/> and ONNX Runtime GenAI both load.
/// </summary>
public static class OnnxDecoderExporter
{
    /// <summary>The ONNX file's name in the exported folder.</summary>
    public const string ModelFileName = "model.onnx";

    /// <summary>The external weights file's name, when the weights go outside <see cref="ModelFileName"/>.</summary>
    public const string DataFileName = "model.onnx.data";

    /// <summary>The ONNX Runtime LoRA file written when the adapter is kept separate (<see cref="OnnxExportOptions.KeepLoraSeparate"/>).</summary>
    public const string AdapterFileName = "adapter.onnx_adapter";

    /// <summary>ONNX Runtime GenAI's config file name.</summary>
    public const string GenAIConfigFileName = "genai_config.json";

    /// <summary>Builds the ONNX decoder for a checkpoint and writes its folder atomically (a temporary folder, then a rename).</summary>
    /// <param name="checkpointDirectory">
    /// The checkpoint folder (<c>config.json</c> + <c>model.safetensors</c>), or a LoRA adapter folder whose
    /// <c>adapter_config.json</c> names its base in <c>base_model_name_or_path</c> (the adapter is then merged, or kept
    /// separate with <see cref="OnnxExportOptions.KeepLoraSeparate"/>).
    /// </param>
    /// <param name="outputDirectory">The folder to create.</param>
    /// <param name="options">The adapter to merge or keep separate, fp16 weights, tokenizer fallback, external-data threshold, overwrite; defaults when <see langword="null"/>.</param>
    /// <param name="cancellationToken">Stops the export; nothing new is left at <paramref name="outputDirectory"/> (with
    /// <see cref="OnnxExportOptions.Overwrite"/>, the folder that was there stays as it was).</param>
    /// <returns>What was written.</returns>
    /// <exception cref="ModelLoadException">A file is missing, not valid, or describes an unsupported model; the message names the file.</exception>
    /// <exception cref="InvalidDataFileException">A tensor is missing or its shape disagrees with the config; the message names the tensor and both shapes.</exception>
    /// <exception cref="LlmAdaptException">The output folder exists and is not empty, and <see cref="OnnxExportOptions.Overwrite"/> is off.</exception>
    /// <exception cref="ArgumentException"><see cref="OnnxExportOptions.KeepLoraSeparate"/> is set without an adapter.</exception>
    /// <exception cref="InvalidOptionsException"><paramref name="options"/> failed validation; it lists every problem.</exception>
    public static async Task<OnnxExportResult> ExportAsync(string checkpointDirectory, string outputDirectory, OnnxExportOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(checkpointDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputDirectory);
        options ??= new OnnxExportOptions();
        OptionsValidator.ThrowIfInvalid(options);
        var output = Path.GetFullPath(outputDirectory);
        if (Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any() && !options.Overwrite)
        {
            throw new LlmAdaptException($"{output}: the output folder exists and is not empty; choose another folder or set Overwrite.");
        }

        var (baseDirectory, adapter) = await ResolveAsync(checkpointDirectory, options.AdapterDirectory, cancellationToken).ConfigureAwait(false);
        if (options.KeepLoraSeparate && adapter is null)
        {
            throw new ArgumentException("KeepLoraSeparate needs a LoRA adapter (AdapterDirectory, or an adapter folder as the checkpoint).", nameof(options));
        }

        var weights = await DecoderExportWeights.LoadAsync(baseDirectory, cancellationToken).ConfigureAwait(false);
        if (adapter is not null && options.KeepLoraSeparate)
        {
            await weights.KeepLoraSeparateAsync(adapter, cancellationToken).ConfigureAwait(false);
        }
        else if (adapter is not null)
        {
            await weights.MergeLoraAsync(adapter, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        var model = weights.CreateGraphBuilder(options.Float16Weights).Build();
        var parameterCount = weights.ParameterCount;
        var separate = weights.SeparateLora.Values.OrderBy(u => u.Module, StringComparer.Ordinal).ToList();
        weights.Tensors.Clear();

        var parent = Path.GetDirectoryName(output) ?? throw new ArgumentException($"'{output}' has no parent folder.", nameof(outputDirectory));
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(output)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            var external = parameterCount * (options.Float16Weights ? 2 : sizeof(float)) > options.ExternalDataThresholdBytes;
            if (external)
            {
                await using var data = new FileStream(Path.Combine(temp, DataFileName), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20);
                DecoderGraphBuilder.MoveToExternalData(model, data, DataFileName);
                data.Flush(flushToDisk: true);
            }

            cancellationToken.ThrowIfCancellationRequested();
            await using (var stream = new FileStream(Path.Combine(temp, ModelFileName), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                model.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }

            if (separate.Count > 0)
            {
                await AtomicFile.WriteAllBytesAsync(
                    Path.Combine(temp, AdapterFileName),
                    OnnxAdapterFile.Build(separate.SelectMany(u => new[] { (u.AName, new long[] { u.Rank, u.In }, u.A), (u.BName, new long[] { u.Out, u.Rank }, u.ScaledB()) })),
                    cancellationToken).ConfigureAwait(false);
            }

            var tokenizerSource = TokenizerFiles.HasVocabulary(baseDirectory) || options.TokenizerDirectory is null ? baseDirectory : Path.GetFullPath(options.TokenizerDirectory);
            var tokenizerFiles = await TokenizerFiles.CopyAsync(tokenizerSource, temp, cancellationToken).ConfigureAwait(false);
            if (!TokenizerFiles.HasVocabulary(temp) && weights.VocabSize == Gpt2TokenizerFiles.VocabularySize)
            {
                // GPT-2's vocabulary and no tokenizer files (checkpoints of engines that save none): GPT-2's files, keeping
                // any the checkpoint brought (a tokenizer_config.json with a chat template, say).
                var scratch = Path.Combine(temp, ".gpt2-tokenizer");
                foreach (var name in await Gpt2TokenizerFiles.WriteAsync(scratch, weights.ContextLength, cancellationToken).ConfigureAwait(false))
                {
                    if (!tokenizerFiles.Contains(name))
                    {
                        File.Move(Path.Combine(scratch, name), Path.Combine(temp, name));
                        tokenizerFiles.Add(name);
                    }
                }

                Directory.Delete(scratch, recursive: true);
            }

            await AtomicFile.WriteAllTextAsync(Path.Combine(temp, GenAIConfigFileName), GenAIConfig(weights, tokenizerFiles.Contains("tokenizer.json")), cancellationToken).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            Publish(temp, output);
            return new OnnxExportResult(
                output,
                Path.Combine(output, ModelFileName),
                external ? Path.Combine(output, DataFileName) : null,
                weights.Layers,
                parameterCount,
                weights.MergedLoraModules,
                tokenizerFiles,
                weights.Architecture,
                separate.Count > 0 ? Path.Combine(output, AdapterFileName) : null,
                separate.Count);
        }
        finally
        {
            if (Directory.Exists(temp))
            {
                Directory.Delete(temp, recursive: true);
            }
        }
    }

    /// <summary>
    /// Writes another PEFT LoRA adapter as an ONNX Runtime LoRA file for a folder exported with
    /// <see cref="OnnxExportOptions.KeepLoraSeparate"/>, so one graph serves several adapters (ONNX Runtime GenAI:
    /// <c>Adapters.LoadAdapter</c> once per file, <c>Generator.SetActiveAdapter</c> per request). The adapter may adapt
    /// the graph's LoRA projections or fewer of them (the others keep their zero default), at any rank.
    /// </summary>
    /// <param name="adapterDirectory">The PEFT adapter folder (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>).</param>
    /// <param name="exportedDirectory">The folder <see cref="ExportAsync"/> wrote with the adapter kept separate.</param>
    /// <param name="outputPath">The <c>.onnx_adapter</c> file to write (atomically).</param>
    /// <param name="cancellationToken">Stops before the file is put in place.</param>
    /// <returns>The number of projections the file adapts.</returns>
    /// <exception cref="ModelLoadException">A file is missing or the graph has no LoRA inputs; the message names the file.</exception>
    /// <exception cref="InvalidDataFileException">A tensor adapts a projection the graph has no LoRA input for, or its shape disagrees; the message names the tensor and the shapes.</exception>
    public static async Task<int> ExportAdapterAsync(string adapterDirectory, string exportedDirectory, string outputPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(adapterDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(exportedDirectory);
        ArgumentException.ThrowIfNullOrWhiteSpace(outputPath);
        var modelPath = Path.Combine(Path.GetFullPath(exportedDirectory), ModelFileName);
        if (!File.Exists(modelPath))
        {
            throw new ModelLoadException(modelPath, "no such file: give the folder ExportAsync wrote.", null);
        }

        var graph = Graph.OnnxModels.Parse(modelPath, await File.ReadAllBytesAsync(modelPath, cancellationToken).ConfigureAwait(false)).Graph;
        var loraInputs = graph.Input
            .Where(i => i.Name.EndsWith(".lora_A.weight", StringComparison.Ordinal) || i.Name.EndsWith(".lora_B.weight", StringComparison.Ordinal))
            .ToDictionary(i => i.Name, i => i.Type.TensorType.Shape.Dim.Select(d => d.DimValue).ToArray(), StringComparer.Ordinal);
        if (loraInputs.Count == 0)
        {
            throw new ModelLoadException(modelPath, "the graph has no LoRA inputs; export it with KeepLoraSeparate (--keep-lora-separate) to serve adapters from files.", null);
        }

        var parameters = new List<(string Name, long[] Dims, float[] Values)>();
        string weightsPath;
        using (var adapter = await LoraAdapterWeights.OpenAsync(adapterDirectory, cancellationToken).ConfigureAwait(false))
        {
            weightsPath = adapter.WeightsPath;
            foreach (var (aName, bName, bare) in adapter.Pairs())
            {
                cancellationToken.ThrowIfCancellationRequested();

                // GPT-2 adapters may name modules without the "transformer." prefix the graph's inputs carry.
                var module = new[] { bare, "transformer." + bare }.FirstOrDefault(m => loraInputs.ContainsKey(m + LoraAdapterWeights.ASuffix))
                    ?? throw new InvalidDataFileException(adapter.WeightsPath, 0, $"tensor '{aName}' adapts '{bare}', which has no LoRA input in {modelPath} (it has {loraInputs.Count / 2}, e.g. '{loraInputs.Keys.Order(StringComparer.Ordinal).First()}').");
                var update = adapter.Read(aName, bName, module, (int)loraInputs[module + LoraAdapterWeights.ASuffix][1], (int)loraInputs[module + LoraAdapterWeights.BSuffix][0]);
                parameters.Add((update.AName, [update.Rank, update.In], update.A));
                parameters.Add((update.BName, [update.Out, update.Rank], update.ScaledB()));
            }
        }

        if (parameters.Count == 0)
        {
            throw new InvalidDataFileException(weightsPath, 0, "no LoRA tensors (names ending in .lora_A.weight).");
        }

        await AtomicFile.WriteAllBytesAsync(Path.GetFullPath(outputPath), OnnxAdapterFile.Build(parameters), cancellationToken).ConfigureAwait(false);
        return parameters.Count / 2;
    }

    /// <summary>The base checkpoint and the adapter to merge: an adapter folder given as the checkpoint names its base (relative to itself).</summary>
    private static async Task<(string Base, string? Adapter)> ResolveAsync(string checkpoint, string? adapter, CancellationToken cancellationToken)
    {
        var full = Path.GetFullPath(checkpoint);
        if (!PeftAdapterFolder.IsAdapterFolder(full))
        {
            return (full, adapter is null ? null : Path.GetFullPath(adapter));
        }

        if (adapter is not null)
        {
            throw new ArgumentException($"'{full}' is itself a LoRA adapter folder; give its base checkpoint with the adapter, or the adapter alone.", nameof(adapter));
        }

        return (await PeftAdapterFolder.ResolveBaseAsync(full, cancellationToken).ConfigureAwait(false), full);
    }

    /// <summary>ONNX Runtime GenAI's description of the graph: model type, sizes, token ids and the input/output names.</summary>
    private static string GenAIConfig(DecoderExportWeights w, bool hasTokenizer)
    {
        var hf = w.Config;
        var eos = w.EosTokenIds.Count > 0 ? w.EosTokenIds[0] : w.VocabSize == 50257 ? 50256 : 0;
        var bos = hf.BosTokenId ?? eos;
        var pad = hf.PadTokenId ?? eos;
        var root = new JsonObject
        {
            ["model"] = new JsonObject
            {
                ["type"] = w.GenAIModelType,
                ["bos_token_id"] = bos,
                ["eos_token_id"] = w.EosTokenIds.Count > 1 ? new JsonArray([.. w.EosTokenIds.Select(id => (JsonNode)id)]) : eos,
                ["pad_token_id"] = pad,
                ["vocab_size"] = w.VocabSize,
                ["context_length"] = w.ContextLength,
                ["decoder"] = new JsonObject
                {
                    ["session_options"] = new JsonObject { ["log_id"] = "onnxruntime-genai", ["provider_options"] = new JsonArray() },
                    ["filename"] = ModelFileName,
                    ["head_size"] = w.HeadSize,
                    ["hidden_size"] = w.Channels,
                    ["num_attention_heads"] = w.Heads,
                    ["num_key_value_heads"] = w.KeyValueHeads,
                    ["num_hidden_layers"] = w.Layers,
                    ["inputs"] = new JsonObject
                    {
                        ["input_ids"] = DecoderGraphBuilder.InputIds,
                        ["attention_mask"] = DecoderGraphBuilder.AttentionMask,
                        ["position_ids"] = DecoderGraphBuilder.PositionIds,
                        ["past_key_names"] = DecoderGraphBuilder.PastKey,
                        ["past_value_names"] = DecoderGraphBuilder.PastValue,
                    },
                    ["outputs"] = new JsonObject
                    {
                        ["logits"] = DecoderGraphBuilder.Logits,
                        ["present_key_names"] = DecoderGraphBuilder.PresentKey,
                        ["present_value_names"] = DecoderGraphBuilder.PresentValue,
                    },
                },
            },
            ["search"] = new JsonObject
            {
                ["do_sample"] = false,
                ["max_length"] = w.ContextLength,
                ["min_length"] = 0,
                ["num_beams"] = 1,
                ["num_return_sequences"] = 1,
                ["past_present_share_buffer"] = false,
                ["repetition_penalty"] = 1.0,
                ["temperature"] = 1.0,
                ["top_k"] = 1,
                ["top_p"] = 1.0,
            },
        };
        if (!hasTokenizer)
        {
            root["llmadapt_note"] = "No tokenizer files were found beside the checkpoint: generate from token ids, or copy tokenizer.json here.";
        }

        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Puts the finished temporary folder in place; an existing folder is moved aside first and removed after.</summary>
    private static void Publish(string temp, string output)
    {
        if (!Directory.Exists(output))
        {
            Directory.Move(temp, output);
            return;
        }

        var aside = output + $".{Guid.NewGuid():N}.old";
        Directory.Move(output, aside);
        try
        {
            Directory.Move(temp, output);
        }
        catch
        {
            Directory.Move(aside, output);
            throw;
        }

        Directory.Delete(aside, recursive: true);
    }
}
