using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using LlmAdapt.Onnx.Export;

namespace LlmAdapt.Cli.Commands;

/// <summary><c>llmadapt export onnx</c>: turn a GPT-2 or Llama checkpoint (optionally with a LoRA adapter merged) into an ONNX decoder folder.</summary>
internal static class ExportCommands
{
    public static Command Create(CliContext context)
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "Checkpoint folder (config.json + model.safetensors), or a LoRA adapter folder whose adapter_config.json names its base.", Required = true };
        var output = new Option<DirectoryInfo>("--out", "-o") { Description = "Folder to write: model.onnx, genai_config.json and the tokenizer files.", Required = true };
        var adapter = new Option<DirectoryInfo?>("--adapter") { Description = "PEFT LoRA adapter folder to merge into the weights (W + alpha/r · B·A)." };
        var tokenizer = new Option<DirectoryInfo?>("--tokenizer") { Description = "Folder to copy tokenizer files from when the checkpoint has none of its own (tokenizer.json, tokenizer.model or vocab.json)." };
        var keepLora = new Option<bool>("--keep-lora-separate") { Description = "Keep the adapter out of the weights: LoRA graph inputs (zero by default) plus adapter.onnx_adapter for ONNX Runtime / GenAI's adapter API." };
        var fp16 = new Option<bool>("--fp16-weights") { Description = "Store the weights as float16 (half the file); arithmetic, KV cache and logits stay float32." };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the output folder if it exists and is not empty." };
        var json = CliContext.JsonOption();

        var onnx = new Command("onnx", "Export a GPT-2 or Llama checkpoint (Hugging Face layout) to an fp32 ONNX decoder with a KV cache, loadable by 'llmadapt generate' and ONNX Runtime GenAI.")
        {
            model, output, adapter, keepLora, fp16, tokenizer, overwrite, json,
        };
        onnx.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            if (parseResult.GetValue(keepLora) && parseResult.GetValue(adapter) is null
                && !LlmAdapt.Formats.PeftAdapterFolder.IsAdapterFolder(parseResult.GetRequiredValue(model).FullName))
            {
                throw new CliUsageException("--keep-lora-separate needs a LoRA adapter: give --adapter, or an adapter folder as --model.");
            }

            var options = new OnnxExportOptions
            {
                AdapterDirectory = parseResult.GetValue(adapter)?.FullName,
                TokenizerDirectory = parseResult.GetValue(tokenizer)?.FullName,
                Overwrite = parseResult.GetValue(overwrite),
                KeepLoraSeparate = parseResult.GetValue(keepLora),
                Float16Weights = parseResult.GetValue(fp16),
            };
            var clock = Stopwatch.StartNew();
            var result = await OnnxDecoderExporter.ExportAsync(parseResult.GetRequiredValue(model).FullName, parseResult.GetRequiredValue(output).FullName, options, cancellationToken).ConfigureAwait(false);
            var seconds = clock.Elapsed.TotalSeconds;
            await context.Out.WriteLineAsync(result.OutputDirectory).ConfigureAwait(false);
            await context.Error.WriteLineAsync(string.Create(
                CultureInfo.InvariantCulture,
                $"{result.Architecture}, {result.Layers} layers, {result.ParameterCount:N0} weights{(result.MergedLoraModules > 0 ? $", LoRA merged into {result.MergedLoraModules} projections" : string.Empty)}{(result.AdapterPath is null ? string.Empty : $", LoRA kept separate on {result.SeparateLoraModules} projections ({Path.GetFileName(result.AdapterPath)})")}, "
                + $"{(result.TokenizerFiles.Count == 0 ? "no tokenizer files (generate with --prompt-ids, or pass --tokenizer)" : "tokenizer: " + string.Join(", ", result.TokenizerFiles))}; {seconds:F1} s")).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                context.WriteJson(new
                {
                    output = result.OutputDirectory,
                    model = result.ModelPath,
                    architecture = result.Architecture,
                    external_data = result.ExternalDataPath,
                    layers = result.Layers,
                    parameters = result.ParameterCount,
                    merged_lora_modules = result.MergedLoraModules,
                    separate_lora_modules = result.SeparateLoraModules,
                    adapter = result.AdapterPath,
                    tokenizer_files = result.TokenizerFiles,
                    seconds,
                });
            }

            return CliApp.Success;
        }));

        return new Command("export", "Export models for serving.") { onnx, CreateAdapter(context) };
    }

    /// <summary><c>llmadapt export adapter</c>: another PEFT adapter as an ONNX Runtime LoRA file for a graph exported with --keep-lora-separate.</summary>
    private static Command CreateAdapter(CliContext context)
    {
        var adapter = new Option<DirectoryInfo>("--adapter") { Description = "PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors).", Required = true };
        var onnx = new Option<DirectoryInfo>("--onnx") { Description = "Folder written by 'export onnx --keep-lora-separate'.", Required = true };
        var output = new Option<FileInfo>("--out", "-o") { Description = "The .onnx_adapter file to write.", Required = true };
        var json = CliContext.JsonOption();
        var command = new Command("adapter", "Write another LoRA adapter as an ONNX Runtime .onnx_adapter file for a graph exported with --keep-lora-separate (one graph, several adapters).")
        {
            adapter, onnx, output, json,
        };
        command.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var file = parseResult.GetRequiredValue(output).FullName;
            var modules = await OnnxDecoderExporter.ExportAdapterAsync(parseResult.GetRequiredValue(adapter).FullName, parseResult.GetRequiredValue(onnx).FullName, file, cancellationToken).ConfigureAwait(false);
            await context.Out.WriteLineAsync(file).ConfigureAwait(false);
            await context.Error.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"LoRA on {modules} projections")).ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                context.WriteJson(new { adapter = file, lora_modules = modules });
            }

            return CliApp.Success;
        }));
        return command;
    }
}
