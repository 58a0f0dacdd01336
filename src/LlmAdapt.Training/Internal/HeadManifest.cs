using System.Text.Json.Serialization;
using LlmAdapt.Training.Heads;

namespace LlmAdapt.Training.Internal;

/// <summary>The JSON written beside a head's safetensors: what it is, what encoder it is bound to, and a checksum.</summary>
internal sealed record HeadManifest
{
    public const int CurrentVersion = 1;

    [JsonPropertyName("format")]
    public required string Format { get; init; }

    [JsonPropertyName("format_version")]
    public int FormatVersion { get; init; } = CurrentVersion;

    [JsonPropertyName("embedding_model")]
    public required string EmbeddingModel { get; init; }

    [JsonPropertyName("embedding_dimension")]
    public required int EmbeddingDimension { get; init; }

    [JsonPropertyName("labels")]
    public IReadOnlyList<string>? Labels { get; init; }

    [JsonPropertyName("features")]
    public IReadOnlyList<string>? Features { get; init; }

    [JsonPropertyName("prompt_tail_characters")]
    public int? PromptTailCharacters { get; init; }

    [JsonPropertyName("head")]
    public required HeadShape Head { get; init; }

    [JsonPropertyName("metrics")]
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    [JsonPropertyName("settings")]
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();

    [JsonPropertyName("weights_file")]
    public string WeightsFile { get; init; } = HeadFiles.WeightsFileName;

    [JsonPropertyName("weights_sha256")]
    public string WeightsSha256 { get; init; } = string.Empty;

    [JsonPropertyName("created_utc")]
    public DateTimeOffset CreatedUtc { get; init; }
}

/// <summary>The head's shape in the manifest.</summary>
internal sealed record HeadShape
{
    [JsonPropertyName("kind")]
    public required string Kind { get; init; }

    [JsonPropertyName("inputs")]
    public required int Inputs { get; init; }

    [JsonPropertyName("hidden")]
    public int Hidden { get; init; }

    [JsonPropertyName("outputs")]
    public required int Outputs { get; init; }

    [JsonPropertyName("dropout")]
    public float Dropout { get; init; }

    /// <summary>The shape of <paramref name="network"/>, trained with <paramref name="settings"/>.</summary>
    public static HeadShape Of(IHeadSettings settings, HeadNetwork network) => new()
    {
        Kind = settings.Head == HeadKind.Mlp ? "mlp" : "linear",
        Inputs = network.Inputs,
        Hidden = network.Hidden,
        Outputs = network.Outputs,
        Dropout = (float)settings.Dropout,
    };
}
