namespace LlmAdapt.Training.Models.Llama;

/// <summary>
/// The shape of a Llama-family decoder (RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention). Property
/// names follow Hugging Face's <c>LlamaConfig</c>; the defaults are SmolLM2-135M's.
/// </summary>
public sealed record LlamaConfig : DecoderConfig
{
    /// <summary>Gets the vocabulary size (<c>vocab_size</c>).</summary>
    public int VocabSize { get; init; } = 49152;

    /// <summary>Gets the longest sequence (<c>max_position_embeddings</c>).</summary>
    public int ContextLength { get; init; } = 2048;

    /// <summary>Gets the number of blocks (<c>num_hidden_layers</c>).</summary>
    public int Layers { get; init; } = 30;

    /// <summary>Gets the number of query heads (<c>num_attention_heads</c>).</summary>
    public int Heads { get; init; } = 9;

    /// <summary>Gets the number of key/value heads (<c>num_key_value_heads</c>); divides <see cref="Heads"/>.</summary>
    public int KeyValueHeads { get; init; } = 3;

    /// <summary>Gets the residual width (<c>hidden_size</c>); a multiple of <see cref="Heads"/>.</summary>
    public int Channels { get; init; } = 576;

    /// <summary>Gets the MLP width (<c>intermediate_size</c>).</summary>
    public int IntermediateSize { get; init; } = 1536;

    /// <summary>Gets the RMSNorm epsilon (<c>rms_norm_eps</c>).</summary>
    public double RmsNormEpsilon { get; init; } = 1e-5;

    /// <summary>Gets the rotary base (<c>rope_theta</c>).</summary>
    public double RopeTheta { get; init; } = 10000;

    /// <summary>Gets whether the output head is the token embedding (<c>tie_word_embeddings</c>).</summary>
    public bool TieWordEmbeddings { get; init; } = true;

    /// <summary>Gets the head size.</summary>
    public int HeadSize => Channels / Heads;

    /// <summary>Throws when the shape is not usable, naming every problem.</summary>
    /// <exception cref="ArgumentException">A dimension is invalid.</exception>
    public override void Validate()
    {
        var problems = new List<string>();
        if (VocabSize <= 0 || ContextLength <= 0 || Layers <= 0 || IntermediateSize <= 0)
        {
            problems.Add($"vocab_size {VocabSize}, max_position_embeddings {ContextLength}, num_hidden_layers {Layers} and intermediate_size {IntermediateSize} must be positive");
        }

        if (Heads <= 0 || Channels % Heads != 0 || HeadSize % 2 != 0)
        {
            problems.Add($"hidden_size {Channels} must split into {Heads} heads of even size");
        }

        if (KeyValueHeads <= 0 || Heads % KeyValueHeads != 0)
        {
            problems.Add($"num_key_value_heads {KeyValueHeads} must divide num_attention_heads {Heads}");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Llama config: " + string.Join("; ", problems) + ".");
        }
    }

    /// <inheritdoc />
    internal override DecoderModel<float> CreateModel() => new LlamaModel<float>(this);
}
