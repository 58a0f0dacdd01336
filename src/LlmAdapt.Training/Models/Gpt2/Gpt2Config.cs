namespace LlmAdapt.Training.Models.Gpt2;

/// <summary>
/// The shape of a GPT-2 model (learned positions, pre-LayerNorm blocks, GELU MLP, tied embeddings). Property names
/// follow Hugging Face's <c>GPT2Config</c>; the defaults are GPT-2 small (124M parameters).
/// </summary>
public sealed record Gpt2Config : DecoderConfig
{
    /// <summary>Gets the vocabulary size (<c>vocab_size</c>); 50,257 for GPT-2's tokenizer.</summary>
    public int VocabSize { get; init; } = 50257;

    /// <summary>Gets the longest sequence the model accepts (<c>n_positions</c>).</summary>
    public int ContextLength { get; init; } = 1024;

    /// <summary>Gets the number of transformer blocks (<c>n_layer</c>).</summary>
    public int Layers { get; init; } = 12;

    /// <summary>Gets the number of attention heads (<c>n_head</c>).</summary>
    public int Heads { get; init; } = 12;

    /// <summary>Gets the width of the residual stream (<c>n_embd</c>); must be a multiple of <see cref="Heads"/>.</summary>
    public int Channels { get; init; } = 768;

    /// <summary>Gets the LayerNorm epsilon (<c>layer_norm_epsilon</c>).</summary>
    public double LayerNormEpsilon { get; init; } = 1e-5;

    /// <summary>Gets the number of parameters (embeddings counted once, since the output head is tied to them).</summary>
    public long ParameterCount
    {
        get
        {
            long c = Channels;
            var perLayer = (2 * c) + (c * 3 * c) + (3 * c) + (c * c) + c + (2 * c) + (c * 4 * c) + (4 * c) + (4 * c * c) + c;
            return ((long)VocabSize * c) + ((long)ContextLength * c) + (Layers * perLayer) + (2 * c);
        }
    }

    /// <summary>Throws when the shape is not usable, naming every problem and its numbers.</summary>
    /// <exception cref="ArgumentException">A dimension is not positive, or the channels do not split into heads.</exception>
    public override void Validate()
    {
        var problems = new List<string>();
        if (VocabSize <= 0)
        {
            problems.Add($"vocab_size is {VocabSize}, must be positive");
        }

        if (ContextLength <= 0)
        {
            problems.Add($"n_positions is {ContextLength}, must be positive");
        }

        if (Layers <= 0)
        {
            problems.Add($"n_layer is {Layers}, must be positive");
        }

        if (Heads <= 0 || Channels <= 0 || Channels % Heads != 0)
        {
            problems.Add($"n_embd {Channels} must be a positive multiple of n_head {Heads}");
        }

        if (LayerNormEpsilon is <= 0 or > 1)
        {
            problems.Add($"layer_norm_epsilon is {LayerNormEpsilon}, must be in (0, 1]");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid GPT-2 config: " + string.Join("; ", problems) + ".");
        }
    }

    /// <inheritdoc />
    internal override DecoderModel<float> CreateModel() => new Gpt2Model<float>(this);
}
