namespace LlmAdapt.Training.Models.Llama;

/// <summary>
/// The shape of a Llama-family decoder (RMSNorm, rotary positions, SwiGLU MLP, grouped-query attention). Property
/// names follow Hugging Face's <c>LlamaConfig</c>; the defaults for the vocabulary, layers, widths, heads and tied head
/// are SmolLM2-135M's shape, while <see cref="ContextLength"/> (2,048) and <see cref="RopeTheta"/> (10,000) are Hugging
/// Face <c>LlamaConfig</c>'s own defaults (a checkpoint's <c>config.json</c> sets both).
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

    /// <summary>
    /// Gets the size of one attention head when it is not <see cref="Channels"/> / <see cref="Heads"/> (<c>head_dim</c>);
    /// 0 (the default) for that quotient.
    /// </summary>
    public int HeadDim { get; init; }

    /// <summary>Gets the head size: <see cref="HeadDim"/>, or <see cref="Channels"/> / <see cref="Heads"/>.</summary>
    public int HeadSize => HeadDim > 0 ? HeadDim : Heads > 0 ? Channels / Heads : 0;

    /// <summary>
    /// Returns the SwiGLU MLP width a new model of <paramref name="channels"/> gets by default: 8/3 × the width, rounded
    /// up to a multiple of 16 (1,536 for SmolLM2-135M's 576).
    /// </summary>
    /// <param name="channels">The residual width.</param>
    /// <returns>The MLP width.</returns>
    public static int DefaultIntermediateSize(int channels) => ((8 * channels / 3) + 15) / 16 * 16;

    /// <summary>Throws when the shape is not usable, naming every problem.</summary>
    /// <exception cref="ArgumentException">A dimension is invalid.</exception>
    public override void Validate()
    {
        var problems = new List<string>();
        if (VocabSize <= 0 || ContextLength <= 0 || Layers <= 0 || IntermediateSize <= 0)
        {
            problems.Add($"vocab_size {VocabSize}, max_position_embeddings {ContextLength}, num_hidden_layers {Layers} and intermediate_size {IntermediateSize} must be positive");
        }

        if (HeadDim < 0)
        {
            problems.Add($"head_dim {HeadDim} must be positive (or 0 for hidden_size / num_attention_heads)");
        }
        else if (Heads <= 0 || (HeadDim == 0 && Channels % Heads != 0) || HeadSize <= 0 || HeadSize % 2 != 0)
        {
            problems.Add(HeadDim == 0 ? $"hidden_size {Channels} must split into {Heads} heads of even size" : $"num_attention_heads {Heads} must be positive and head_dim {HeadDim} even");
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
