using LlmAdapt.DependencyInjection;
using LlmAdapt.Preference;
using LlmAdapt.Training;
using LlmAdapt.Training.Dpo;
using LlmAdapt.Training.Heads;
using LlmAdapt.Training.Reward;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers task heads, reward models (both need an <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/> of strings registered too) and the DPO trainer.</summary>
public static class TrainingServiceCollectionExtensions
{
    /// <summary>The configuration section of <see cref="TaskHeadOptions"/> under <c>LlmAdapt</c>.</summary>
    public const string TaskHeadsSection = "TaskHeads";

    /// <summary>The configuration section of <see cref="RewardModelOptions"/> under <c>LlmAdapt</c>.</summary>
    public const string RewardModelSection = "RewardModel";

    /// <summary>The configuration section of <see cref="DpoOptions"/> under <c>LlmAdapt</c>.</summary>
    public const string DpoSection = "Dpo";

    /// <summary>
    /// Registers <see cref="TaskHeadTrainer"/> as an <see cref="IFineTuner"/> (and as itself). Options bind from
    /// <c>LlmAdapt:TaskHeads</c>, then <paramref name="configure"/>, and are validated when the host starts.
    /// </summary>
    /// <param name="builder">The builder from <c>services.AddLlmAdapt(...)</c>.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddTaskHeads(this LlmAdaptBuilder builder, Action<TaskHeadOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindOptions(TaskHeadsSection, configure);
        builder.Services.TryAddSingleton(sp => new TaskHeadTrainer(
            sp.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>(),
            sp.GetRequiredService<IOptions<TaskHeadOptions>>().Value,
            sp.GetService<ILogger<TaskHeadTrainer>>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IFineTuner, TaskHeadTrainer>(sp => sp.GetRequiredService<TaskHeadTrainer>()));
        return builder;
    }

    /// <summary>
    /// Registers <see cref="RewardModelTrainer"/> as an <see cref="IPreferenceTrainer"/> (also keyed by
    /// <see cref="RewardModelTrainer.TrainerName"/>) and as itself. Options bind from
    /// <c>LlmAdapt:RewardModel</c>, then <paramref name="configure"/>, and are validated when the host starts.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddRewardModelTrainer(this LlmAdaptBuilder builder, Action<RewardModelOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindOptions(RewardModelSection, configure);
        builder.Services.TryAddSingleton(sp => new RewardModelTrainer(
            sp.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>(),
            sp.GetRequiredService<IOptions<RewardModelOptions>>().Value,
            sp.GetService<ILogger<RewardModelTrainer>>()));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPreferenceTrainer, RewardModelTrainer>(sp => sp.GetRequiredService<RewardModelTrainer>()));
        builder.Services.TryAddKeyedSingleton<IPreferenceTrainer>(RewardModelTrainer.TrainerName, (sp, _) => sp.GetRequiredService<RewardModelTrainer>());
        return builder;
    }

    /// <summary>
    /// Registers <see cref="DpoTrainer"/> as an <see cref="IPreferenceTrainer"/> (also keyed by
    /// <see cref="DpoTrainer.TrainerName"/>, beside the reward-model trainer's key) and as itself. Options bind from
    /// <c>LlmAdapt:Dpo</c>, then <paramref name="configure"/>, and are validated when the host starts (β &gt; 0, ε in
    /// [0, 0.5), lengths, LoRA rank, the training loop).
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="configure">Changes the options, or <see langword="null"/>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddDpoTrainer(this LlmAdaptBuilder builder, Action<DpoOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.BindOptions(DpoSection, configure);
        builder.Services.TryAddSingleton(sp => new DpoTrainer(sp.GetRequiredService<IOptions<DpoOptions>>().Value));
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IPreferenceTrainer, DpoTrainer>(sp => sp.GetRequiredService<DpoTrainer>()));
        builder.Services.TryAddKeyedSingleton<IPreferenceTrainer>(DpoTrainer.TrainerName, (sp, _) => sp.GetRequiredService<DpoTrainer>());
        return builder;
    }

    /// <summary>
    /// Registers the reward model saved in <paramref name="path"/> as the <see cref="IResponseScorer"/> that
    /// <c>UseBestOfN()</c> resolves. The model is loaded, and checked against the registered encoder, on first use.
    /// </summary>
    /// <param name="builder">The builder.</param>
    /// <param name="path">The reward model folder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddRewardModelScorer(this LlmAdaptBuilder builder, string path)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        builder.Services.TryAddSingleton(sp => RewardModel.LoadAsync(path, sp.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>()).GetAwaiter().GetResult());
        builder.Services.TryAddSingleton<IResponseScorer>(sp => sp.GetRequiredService<RewardModel>());
        return builder;
    }
}
