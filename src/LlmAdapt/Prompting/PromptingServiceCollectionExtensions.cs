using LlmAdapt.DependencyInjection;
using LlmAdapt.Prompting;
using LlmAdapt.Prompting.Chains;
using LlmAdapt.Prompting.Decomposition;
using LlmAdapt.Prompting.FewShot;
using LlmAdapt.Prompting.Optimization;
using LlmAdapt.Prompting.Reasoning;
using LlmAdapt.Prompting.SelfConsistency;
using LlmAdapt.Prompting.Templates;
using LlmAdapt.Tokens;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>
/// Registers prompt strategies as keyed singletons of <see cref="IPromptStrategy"/>, keyed by name, so a host can
/// register several and resolve one with <c>GetRequiredKeyedService&lt;IPromptStrategy&gt;(name)</c>. Each strategy's
/// options are named options (bound from <c>LlmAdapt:Prompting:{name}</c> when the builder has configuration, then
/// changed in code) and are validated at start-up; every problem is listed. The strategies count tokens with the
/// shared <see cref="TokenCounter"/>.
/// </summary>
public static class PromptingServiceCollectionExtensions
{
    /// <summary>The configuration section, under <c>LlmAdapt</c>, that holds one child section per strategy name.</summary>
    public const string SectionName = "Prompting";

    /// <summary>Registers a prompt strategy built by <paramref name="factory"/> under <paramref name="name"/>.</summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="name">The key; unique among prompt strategies.</param>
    /// <param name="factory">Builds the strategy once, from the services.</param>
    /// <returns>The builder, for chaining.</returns>
    /// <exception cref="ArgumentException">A different prompt strategy is already registered under <paramref name="name"/>.</exception>
    /// <remarks>Calling it again with the same <paramref name="factory"/> registers nothing twice.</remarks>
    public static LlmAdaptBuilder AddPromptStrategy(this LlmAdaptBuilder builder, string name, Func<IServiceProvider, IPromptStrategy> factory)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        Register(builder, name, factory, factory);
        return builder;
    }

    /// <summary>Registers a <see cref="TemplatePromptStrategy"/> under <paramref name="name"/>.</summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="name">The key.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddPromptStrategyTemplate(this LlmAdaptBuilder builder, string name, Action<TemplatePromptOptions> configure)
        => Add(builder, name, Adapt(configure ?? throw new ArgumentNullException(nameof(configure))), static (n, o, c, l) => new TemplatePromptStrategy(n, o, c, l));

    /// <summary>Registers a <see cref="FewShotPromptStrategy"/> under <paramref name="name"/>.</summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="name">The key.</param>
    /// <param name="configure">Sets the options; the services are given so a selector can use a registered <c>IEmbeddingGenerator</c>.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddPromptStrategyFewShot(this LlmAdaptBuilder builder, string name, Action<FewShotPromptOptions, IServiceProvider> configure)
        => Add(builder, name, configure ?? throw new ArgumentNullException(nameof(configure)), static (n, o, c, l) => new FewShotPromptStrategy(n, o, c, l));

    /// <summary>Registers a <see cref="StepByStepPromptStrategy"/> under <paramref name="name"/>.</summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="name">The key.</param>
    /// <param name="configure">Sets the options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddPromptStrategyStepByStep(this LlmAdaptBuilder builder, string name, Action<StepByStepPromptOptions>? configure = null)
        => Add(builder, name, Adapt(configure), static (n, o, c, l) => new StepByStepPromptStrategy(n, o, c, l));

    /// <summary>Registers a <see cref="SelfConsistencyPromptStrategy"/> under <paramref name="name"/>.</summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="name">The key.</param>
    /// <param name="configure">Sets the options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddPromptStrategySelfConsistency(this LlmAdaptBuilder builder, string name, Action<SelfConsistencyPromptOptions>? configure = null)
        => Add(builder, name, Adapt(configure), static (n, o, c, l) => new SelfConsistencyPromptStrategy(n, o, c, l));

    /// <summary>Registers a <see cref="ChainPromptStrategy"/> under <paramref name="name"/>; the chain is checked when it is built.</summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="name">The key.</param>
    /// <param name="configure">Adds the steps and sets the options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddPromptStrategyChain(this LlmAdaptBuilder builder, string name, Action<ChainPromptOptions> configure)
        => Add(builder, name, Adapt(configure ?? throw new ArgumentNullException(nameof(configure))), static (n, o, c, l) => new ChainPromptStrategy(n, o, c, l));

    /// <summary>Registers a <see cref="LeastToMostPromptStrategy"/> under <paramref name="name"/>.</summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="name">The key.</param>
    /// <param name="configure">Sets the options, or <see langword="null"/> for the defaults.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddPromptStrategyLeastToMost(this LlmAdaptBuilder builder, string name, Action<LeastToMostPromptOptions>? configure = null)
        => Add(builder, name, Adapt(configure), static (n, o, c, l) => new LeastToMostPromptStrategy(n, o, c, l));

    /// <summary>
    /// Registers a <see cref="PromptOptimizer"/> as a keyed singleton under <paramref name="name"/>, its options
    /// named options validated at start-up like the strategies'.
    /// </summary>
    /// <param name="builder">The LlmAdapt builder.</param>
    /// <param name="name">The key.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder, for chaining.</returns>
    public static LlmAdaptBuilder AddPromptOptimizer(this LlmAdaptBuilder builder, string name, Action<PromptOptimizerOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(configure);
        AddOptions(builder, name, Adapt(configure));
        builder.Services.TryAddKeyedSingleton(name, (sp, _) => new PromptOptimizer(sp.GetRequiredService<IOptionsMonitor<PromptOptimizerOptions>>().Get(name), Logger<PromptOptimizer>(sp)));
        return builder;
    }

    private static LlmAdaptBuilder Add<TOptions>(LlmAdaptBuilder builder, string name, Action<TOptions, IServiceProvider>? configure, Func<string, TOptions, TokenCounter, ILogger, IPromptStrategy> create)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Register(builder, name, typeof(TOptions), sp => create(name, sp.GetRequiredService<IOptionsMonitor<TOptions>>().Get(name), sp.GetRequiredService<TokenCounter>(), Logger<IPromptStrategy>(sp)));
        AddOptions(builder, name, configure);
        return builder;
    }

    // A strategy name holds one strategy: the same registration again (same kind, or the same factory) adds nothing;
    // a different one under a taken name throws rather than silently replacing or shadowing it.
    private static void Register(LlmAdaptBuilder builder, string name, object source, Func<IServiceProvider, IPromptStrategy> factory)
    {
        var existing = builder.Services.FirstOrDefault(d => d.ServiceType == typeof(StrategyRegistration) && d.IsKeyedService && Equals(d.ServiceKey, name));
        if (existing is not null)
        {
            if (existing.KeyedImplementationInstance is StrategyRegistration r && r.Source.Equals(source))
            {
                return;
            }

            throw new ArgumentException($"A prompt strategy named '{name}' is already registered.", nameof(name));
        }

        builder.Services.AddKeyedSingleton(name, new StrategyRegistration(source));
        builder.Services.AddKeyedSingleton<IPromptStrategy>(name, (sp, _) => factory(sp));
    }

    private static void AddOptions<TOptions>(LlmAdaptBuilder builder, string name, Action<TOptions, IServiceProvider>? configure)
        where TOptions : class
    {
        builder.Services.AddLlmAdapt();
        var options = builder.BindOptions<TOptions>($"{SectionName}:{name}", name);
        if (configure is not null)
        {
            options.Configure<IServiceProvider>((o, sp) => configure(o, sp));
        }
    }

    private static Action<TOptions, IServiceProvider>? Adapt<TOptions>(Action<TOptions>? configure)
        => configure is null ? null : (o, _) => configure(o);

    private static ILogger Logger<T>(IServiceProvider services)
        => services.GetService<ILoggerFactory>()?.CreateLogger(typeof(T).FullName!) ?? NullLogger.Instance;

    private sealed record StrategyRegistration(object Source);
}
