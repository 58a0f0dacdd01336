namespace LlmAdapt.Training.Models;

/// <summary>The shape of a decoder the engine can create from scratch: <see cref="Gpt2.Gpt2Config"/> or <see cref="Llama.LlamaConfig"/>.</summary>
public abstract record DecoderConfig
{
    private protected DecoderConfig()
    {
    }

    /// <summary>Throws when the shape is not usable, naming every problem and its numbers.</summary>
    /// <exception cref="ArgumentException">A dimension is invalid.</exception>
    public abstract void Validate();

    /// <summary>Creates an uninitialised model of this shape.</summary>
    internal abstract DecoderModel<float> CreateModel();
}
