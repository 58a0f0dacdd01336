using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Retrieval.Indexes;

/// <summary>Parameters of the HNSW graph a <see cref="DocumentIndex"/> keeps with <see cref="VectorIndexKind.Hnsw"/>.</summary>
public sealed class HnswOptions
{
    /// <summary>Gets or sets the links each node keeps per upper layer (twice as many on layer 0); 16 by default.</summary>
    [Range(2, 256)]
    public int M { get; set; } = 16;

    /// <summary>Gets or sets the candidate list size while inserting; larger builds a better graph, slower; 200 by default.</summary>
    [Range(1, 10_000)]
    public int EfConstruction { get; set; } = 200;

    /// <summary>Gets or sets the candidate list size while searching (raised to k when smaller); 64 by default.</summary>
    [Range(1, 10_000)]
    public int EfSearch { get; set; } = 64;

    /// <summary>Gets or sets the seed of the layer assignment, so that builds repeat; 42 by default.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>Throws when a value is out of range, listing every problem.</summary>
    /// <exception cref="InvalidOptionsException">A value is out of range.</exception>
    public void Validate() => OptionsValidator.ThrowIfInvalid(this);
}
