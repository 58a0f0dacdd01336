using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using LlmAdapt.Formats;
using LlmAdapt.Onnx.Generation;
using LlmAdapt.Training.FineTuning;

namespace LlmAdapt.Cli.Commands;

/// <summary>
/// <c>llmadapt generate</c>: continue a prompt with a local decoder — an ONNX model folder (KV cache on ONNX Runtime), or a
/// checkpoint trained by LlmAdapt's engine (<c>config.json</c> + safetensors, or a LoRA adapter folder), sampled by the engine.
/// </summary>
internal static class GenerateCommands
{
    public static Command Create(CliContext context)
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "Model folder: ONNX Runtime GenAI (genai_config.json), Hugging Face Optimum (config.json + model.onnx), or a checkpoint or LoRA adapter trained by 'llmadapt pretrain'/'sft'.", Required = true };
        var prompt = new Option<string?>("--prompt", "-p") { Description = "Prompt text, tokenized with the model's tokenizer." };
        var promptIds = new Option<string?>("--prompt-ids") { Description = "Prompt as comma-separated token ids, for models without a readable tokenizer (e.g. 0,0,0,52)." };
        var maxNewTokens = new Option<int>("--max-new-tokens", "-n", "--tokens") { Description = "Most tokens to generate.", DefaultValueFactory = _ => 64 };
        var greedy = new Option<bool>("--greedy") { Description = "Take the most likely token at every step (the default when no --temperature is given)." };
        var temperature = new Option<double?>("--temperature", "-t") { Description = "Sample with this temperature (0: greedy)." };
        var topP = new Option<double?>("--top-p") { Description = "Nucleus sampling: keep the most likely tokens up to this probability (0 < p ≤ 1)." };
        var topK = new Option<int?>("--top-k") { Description = "Keep only this many most likely tokens when sampling." };
        var seed = new Option<int?>("--seed") { Description = "Seed of the sampler; the same seed gives the same output." };
        var threads = new Option<int?>("--threads") { Description = "ONNX Runtime threads per step (0: ONNX Runtime chooses; default: the folder's genai_config.json, else half the logical processors, 1 to 16, as ONNX Runtime GenAI)." };
        var json = CliContext.JsonOption();

        var command = new Command("generate", "Generate text with a local decoder-only ONNX model (KV cache, greedy or sampled).")
        {
            model, prompt, promptIds, maxNewTokens, greedy, temperature, topP, topK, seed, threads, json,
        };
        command.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var text = parseResult.GetValue(prompt);
            var idsText = parseResult.GetValue(promptIds);
            if ((text is null) == (idsText is null))
            {
                throw new CliUsageException("give exactly one of --prompt and --prompt-ids.");
            }

            var t = parseResult.GetValue(temperature);
            var sampling = t is > 0 || parseResult.GetValue(topP) is not null || parseResult.GetValue(topK) is not null || parseResult.GetValue(seed) is not null;
            if (parseResult.GetValue(greedy) && sampling)
            {
                throw new CliUsageException("--greedy cannot be combined with --temperature, --top-p, --top-k or --seed.");
            }

            if (sampling && t is not > 0)
            {
                throw new CliUsageException("--top-p, --top-k and --seed sample, which needs --temperature above 0 (--temperature 0 is greedy).");
            }

            var options = new GenerationOptions
            {
                MaxNewTokens = parseResult.GetValue(maxNewTokens),
                Temperature = t ?? 0,
                TopP = parseResult.GetValue(topP) ?? 1.0,
                TopK = parseResult.GetValue(topK) ?? 0,
                Seed = parseResult.GetValue(seed),
            };
            try
            {
                options.Validate();
            }
            catch (InvalidOptionsException ex)
            {
                throw new CliUsageException(ex.Message, ex);
            }

            var folder = parseResult.GetRequiredValue(model).FullName;
            if (ModelFolder.Detect(folder) is ModelFolderKind.Checkpoint or ModelFolderKind.PeftAdapter)
            {
                if (idsText is not null)
                {
                    throw new CliUsageException("a checkpoint of the training engine takes --prompt (its tokenizer is the checkpoint's), not --prompt-ids.");
                }

                var clock0 = Stopwatch.StartNew();
                var sample = await DecoderEvaluator.SampleAsync(folder, text!, options.MaxNewTokens, options.Temperature, options.Seed ?? 42, options.TopK, options.TopP, cancellationToken).ConfigureAwait(false);
                var finish0 = sample.EndOfSequence ? GenerationFinishReason.EndOfSequence : GenerationFinishReason.MaxNewTokens;
                await context.Out.WriteLineAsync(sample.Text).ConfigureAwait(false);
                await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{sample.GeneratedTokens} tokens in {clock0.Elapsed.TotalSeconds:F2} s (training engine, KV cache), finish: {finish0}")).ConfigureAwait(false);
                if (parseResult.GetValue(json))
                {
                    context.WriteJson(new { model = folder, text = sample.Text, generated_tokens = sample.GeneratedTokens, finish_reason = finish0.ToString(), seconds = clock0.Elapsed.TotalSeconds });
                }

                return CliApp.Success;
            }

            using var decoder = OnnxDecoderModel.Load(folder, new OnnxDecoderModelOptions { IntraOpThreads = parseResult.GetValue(threads) });
            var ids = idsText is not null ? ParseIds(idsText) : decoder.Encode(text!);
            var asJson = parseResult.GetValue(json);

            // Text streams to standard output as it is decoded; without a tokenizer the ids are printed at the end.
            var generated = new List<int>();
            var output = new System.Text.StringBuilder();
            GenerationFinishReason? finish = null;
            var clock = Stopwatch.StartNew();
            await foreach (var update in decoder.GenerateStreamingAsync(ids, options, cancellationToken).ConfigureAwait(false))
            {
                if (update.TokenId >= 0)
                {
                    generated.Add(update.TokenId);
                }

                output.Append(update.Text);
                if (!asJson && decoder.Tokenizer is not null)
                {
                    await context.Out.WriteAsync(update.Text).ConfigureAwait(false);
                }

                finish = update.FinishReason;
            }

            var seconds = clock.Elapsed.TotalSeconds;
            var tokensPerSecond = seconds > 0 ? generated.Count / seconds : 0;
            if (!asJson)
            {
                await context.Out.WriteLineAsync(decoder.Tokenizer is null ? string.Join(',', generated) : string.Empty).ConfigureAwait(false);
            }

            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{generated.Count} tokens in {seconds:F2} s ({tokensPerSecond:F1} tokens/s), finish: {finish}")).ConfigureAwait(false);
            if (asJson)
            {
                context.WriteJson(new
                {
                    model = decoder.Directory,
                    prompt_ids = ids,
                    ids = generated,
                    text = decoder.Tokenizer is null ? null : output.ToString(),
                    finish_reason = finish?.ToString(),
                    prompt_tokens = ids.Count,
                    generated_tokens = generated.Count,
                    seconds,
                    tokens_per_second = tokensPerSecond,
                });
            }

            return CliApp.Success;
        }));

        return command;
    }

    private static int[] ParseIds(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var ids = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out ids[i]))
            {
                throw new CliUsageException($"--prompt-ids: '{parts[i]}' (item {i + 1}) is not an integer token id.");
            }
        }

        return ids.Length > 0 ? ids : throw new CliUsageException("--prompt-ids is empty.");
    }
}
