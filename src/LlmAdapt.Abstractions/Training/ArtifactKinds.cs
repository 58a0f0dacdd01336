namespace LlmAdapt.Training;

/// <summary>The values of <see cref="FineTunedArtifact.Kind"/> written by LlmAdapt's own trainers.</summary>
public static class ArtifactKinds
{
    /// <summary>A classification head on a frozen encoder (safetensors plus a JSON manifest).</summary>
    public const string Classifier = "classifier";

    /// <summary>A Bradley–Terry reward model on a frozen encoder.</summary>
    public const string RewardModel = "reward-model";

    /// <summary>A full checkpoint in the Hugging Face layout (config.json, model.safetensors, tokenizer files).</summary>
    public const string Checkpoint = "checkpoint";

    /// <summary>A LoRA adapter in the PEFT layout (adapter_config.json, adapter_model.safetensors).</summary>
    public const string LoraAdapter = "lora-adapter";
}
