namespace LlmAdapt.Training.Heads;

/// <summary>The file layouts <see cref="LabelledTextReader"/> reads.</summary>
public enum TextTableFormat
{
    /// <summary>Tab-separated values, unquoted (the GLUE layout).</summary>
    Tsv,

    /// <summary>Comma-separated values with RFC 4180 quoting.</summary>
    Csv,

    /// <summary>One JSON object per line; columns are property names.</summary>
    Jsonl,
}
