namespace LlmAdapt.Prompting.FewShot;

/// <summary>Chooses which worked examples to show the model for an input, most useful first.</summary>
public interface IExampleSelector
{
    /// <summary>Selects examples for <paramref name="input"/>.</summary>
    /// <param name="input">The input the model will be asked about.</param>
    /// <param name="cancellationToken">Stops the selection (for example while embedding).</param>
    /// <returns>The examples, most useful first.</returns>
    ValueTask<IReadOnlyList<PromptExample>> SelectAsync(string input, CancellationToken cancellationToken = default);
}
