using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Training.Lora;

/// <summary>
/// Low-rank adaptation: each targeted projection W gets W + (alpha / rank) · B·A with A (rank × in) and B (out × rank)
/// trained and W frozen. Names follow PEFT's <c>LoraConfig</c>.
/// </summary>
public sealed class LoraOptions
{
    /// <summary>Gets or sets the rank r of the update (<c>r</c>).</summary>
    [Range(1, 4096)]
    public int Rank { get; set; } = 8;

    /// <summary>Gets or sets alpha (<c>lora_alpha</c>); the update is scaled by alpha / rank.</summary>
    [Range(1e-6, 1e6)]
    public double Alpha { get; set; } = 16;

    /// <summary>Gets or sets the dropout applied to the adapter's input while training (<c>lora_dropout</c>).</summary>
    [Range(0.0, 0.95)]
    public double Dropout { get; set; }

    /// <summary>
    /// Gets the modules adapted (<c>target_modules</c>): a name matches a projection whose full name equals it or ends
    /// with "." + it. Empty (the default) adapts the architecture's usual set: GPT-2's <c>c_attn</c>, <c>c_proj</c>,
    /// <c>c_fc</c> (attention and MLP; <c>c_proj</c> matches both output projections); Llama's <c>q_proj</c>,
    /// <c>k_proj</c>, <c>v_proj</c>, <c>o_proj</c>, <c>gate_proj</c>, <c>up_proj</c>, <c>down_proj</c>.
    /// </summary>
    public IList<string> TargetModules { get; init; } = [];

    /// <summary>Gets the scale alpha / rank.</summary>
    public double Scaling => Alpha / Rank;

    /// <summary>Throws when a value is out of range, listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">An option is out of range; every problem is listed.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);
}
