using LlmAdapt.Formats;
using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.Lora;

/// <summary>
/// Saves and loads LoRA adapters in PEFT's layout (adapter_config.json + adapter_model.safetensors): tensors are
/// named <c>base_model.model.{module}.lora_A.weight</c> [r, in] and <c>….lora_B.weight</c> [out, r], e.g.
/// <c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c> for Llama; fan_in_fan_out is true for GPT-2's Conv1D.
/// </summary>
internal static class LoraAdapterFile
{
    public static string TensorName(string module, char matrix) => $"{PeftAdapterConfig.TensorPrefix}{module}.lora_{matrix}.weight";

    public static async Task SaveAsync(DecoderModel<float> model, string directory, string? baseModel, CancellationToken cancellationToken)
    {
        var lora = model.Lora ?? throw new InvalidOperationException("The model has no LoRA adapters attached.");
        Directory.CreateDirectory(directory);
        var writer = new SafeTensorsWriter();
        writer.Metadata["format"] = "pt";
        var r = lora.Options.Rank;
        foreach (var m in lora.Modules)
        {
            writer.Add(TensorName(m.Name, 'A'), lora.Parameters.Span.Slice(m.OffsetA, r * m.InFeatures), [r, m.InFeatures]);
            writer.Add(TensorName(m.Name, 'B'), lora.Parameters.Span.Slice(m.OffsetB, m.OutFeatures * r), [m.OutFeatures, r]);
        }

        await writer.WriteAsync(Path.Combine(directory, PeftAdapterConfig.WeightsFileName), cancellationToken).ConfigureAwait(false);
        var config = new PeftAdapterConfig
        {
            Rank = r,
            Alpha = lora.Options.Alpha,
            Dropout = lora.Options.Dropout,
            TargetModules = [.. lora.Options.TargetModules],
            FanInFanOut = model.FanInFanOut,
            BaseModelNameOrPath = baseModel,
        };
        await config.WriteAsync(Path.Combine(directory, PeftAdapterConfig.FileName), cancellationToken).ConfigureAwait(false);
    }

    public static async Task<LoraState<float>> LoadAsync(DecoderModel<float> model, string directory, CancellationToken cancellationToken)
    {
        var config = await PeftAdapterConfig.ReadAsync(directory, cancellationToken).ConfigureAwait(false);
        var options = new LoraOptions { Rank = config.Rank, Alpha = config.Alpha, Dropout = config.Dropout, TargetModules = [.. config.TargetModules] };
        var state = model.AttachLora(options, seed: 0);
        var weights = Path.Combine(Path.GetFullPath(directory), PeftAdapterConfig.WeightsFileName);
        using var reader = SafeTensorsReader.Open(weights);
        foreach (var m in state.Modules)
        {
            reader.ReadSingle(TensorName(m.Name, 'A'), [config.Rank, m.InFeatures]).CopyTo(state.Parameters.Span.Slice(m.OffsetA, config.Rank * m.InFeatures));
            reader.ReadSingle(TensorName(m.Name, 'B'), [m.OutFeatures, config.Rank]).CopyTo(state.Parameters.Span.Slice(m.OffsetB, m.OutFeatures * config.Rank));
        }

        return state;
    }
}
