using LlmAdapt.Formats;
using LlmAdapt.Training.Models;

namespace LlmAdapt.Training.Lora;

/// <summary>
/// Saves and loads the engine's LoRA adapters in PEFT's layout through <see cref="LoraAdapterWeights"/>: tensors are
/// named <c>base_model.model.{module}.lora_A.weight</c> [r, in] and <c>….lora_B.weight</c> [out, r], e.g.
/// <c>base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight</c> for Llama; fan_in_fan_out is true for GPT-2's Conv1D.
/// </summary>
internal static class LoraAdapterFile
{
    public static Task SaveAsync(DecoderModel<float> model, string directory, string? baseModel, CancellationToken cancellationToken)
    {
        var lora = model.Lora ?? throw new InvalidOperationException("The model has no LoRA adapters attached.");
        var r = lora.Options.Rank;
        var config = new PeftAdapterConfig
        {
            Rank = r,
            Alpha = lora.Options.Alpha,
            Dropout = lora.Options.Dropout,
            TargetModules = [.. lora.Options.TargetModules],
            FanInFanOut = model.FanInFanOut,
            BaseModelNameOrPath = baseModel,
        };
        return LoraAdapterWeights.WriteAsync(directory, config, writer =>
        {
            foreach (var m in lora.Modules)
            {
                writer.Add(LoraAdapterWeights.TensorName(m.Name, 'A'), lora.Parameters.Span.Slice(m.OffsetA, r * m.InFeatures), [r, m.InFeatures]);
                writer.Add(LoraAdapterWeights.TensorName(m.Name, 'B'), lora.Parameters.Span.Slice(m.OffsetB, m.OutFeatures * r), [m.OutFeatures, r]);
            }
        }, cancellationToken);
    }

    public static async Task<LoraState<float>> LoadAsync(DecoderModel<float> model, string directory, CancellationToken cancellationToken)
    {
        using var adapter = await LoraAdapterWeights.OpenAsync(directory, cancellationToken).ConfigureAwait(false);
        var config = adapter.Config;
        var options = new LoraOptions { Rank = config.Rank, Alpha = config.Alpha, Dropout = config.Dropout, TargetModules = [.. config.TargetModules] };
        var state = model.AttachLora(options, seed: 0);
        foreach (var m in state.Modules)
        {
            var update = adapter.Read(m.Name, m.InFeatures, m.OutFeatures);
            update.A.CopyTo(state.Parameters.Span.Slice(m.OffsetA, config.Rank * m.InFeatures));
            update.B.CopyTo(state.Parameters.Span.Slice(m.OffsetB, m.OutFeatures * config.Rank));
        }

        return state;
    }
}
