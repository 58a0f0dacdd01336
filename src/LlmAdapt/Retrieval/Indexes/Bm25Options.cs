using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Retrieval.Indexes;

/// <summary>Okapi BM25 parameters.</summary>
public sealed class Bm25Options
{
    /// <summary>Gets or sets the term-frequency saturation; 1.2 by default.</summary>
    [Range(0.0, 10.0)]
    public double K1 { get; set; } = 1.2;

    /// <summary>Gets or sets the length normalisation, from 0 (none) to 1 (full); 0.75 by default.</summary>
    [Range(0.0, 1.0)]
    public double B { get; set; } = 0.75;

    /// <summary>Throws when a value is out of range, listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">A value is out of range.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);
}
