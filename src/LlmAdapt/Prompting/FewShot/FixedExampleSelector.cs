namespace LlmAdapt.Prompting.FewShot;

/// <summary>Always selects the same examples, in the order given.</summary>
public sealed class FixedExampleSelector : IExampleSelector
{
    private readonly PromptExample[] _examples;

    /// <summary>Initializes the selector.</summary>
    /// <param name="examples">The examples to show every time.</param>
    public FixedExampleSelector(IEnumerable<PromptExample> examples)
    {
        ArgumentNullException.ThrowIfNull(examples);
        _examples = [.. examples];
        foreach (var example in _examples)
        {
            ArgumentNullException.ThrowIfNull(example, nameof(examples));
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<PromptExample>> SelectAsync(string input, CancellationToken cancellationToken = default)
        => ValueTask.FromResult<IReadOnlyList<PromptExample>>(_examples);
}
