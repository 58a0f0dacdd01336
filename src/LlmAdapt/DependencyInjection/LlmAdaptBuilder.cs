using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmAdapt.DependencyInjection;

/// <summary>
/// Returned by <c>services.AddLlmAdapt(...)</c>; the packages hang their own <c>Add…</c> extensions on it so a host
/// composes only what it needs.
/// </summary>
public sealed class LlmAdaptBuilder
{
    internal LlmAdaptBuilder(IServiceCollection services, IConfiguration? configuration)
    {
        Services = services;
        Configuration = configuration;
    }

    /// <summary>Gets the service collection being configured.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Gets the <c>LlmAdapt</c> configuration section when one was given, for binding the packages' options.</summary>
    public IConfiguration? Configuration { get; }

    /// <summary>Returns the child section <paramref name="name"/> of <see cref="Configuration"/>, or <see langword="null"/>.</summary>
    /// <param name="name">The section name, for example <c>Resilience</c>.</param>
    /// <returns>The section, or <see langword="null"/> when the builder has no configuration.</returns>
    public IConfigurationSection? GetSection(string name) => Configuration?.GetSection(name);

    /// <summary>
    /// Registers <typeparamref name="TOptions"/> (named <paramref name="name"/>, or the default instance), bound from
    /// the <c>LlmAdapt:<paramref name="sectionName"/></c> section when the builder has configuration and validated at
    /// start-up (<c>ValidateOnStart</c>) against its DataAnnotations attributes and
    /// <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/> rules: the failure lists every problem, each
    /// prefixed with the configuration path. The binding and the validation are registered once however often this is
    /// called; chain <c>Configure</c> on the result for the caller's own changes.
    /// </summary>
    /// <typeparam name="TOptions">The options type.</typeparam>
    /// <param name="sectionName">The section under <c>LlmAdapt</c>, for example <c>Retrieval</c> or <c>Prompting:cot</c>.</param>
    /// <param name="name">The named-options name, or <see langword="null"/> for the default instance.</param>
    /// <returns>The options builder.</returns>
    public OptionsBuilder<TOptions> BindOptions<TOptions>(string sectionName, string? name = null)
        where TOptions : class
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sectionName);
        return BindOptions<TOptions>(GetSection(sectionName), $"{LlmAdaptOptions.SectionName}:{sectionName}", name);
    }

    /// <summary>
    /// <see cref="BindOptions{TOptions}(string, string?)"/> for the default instance, then <paramref name="configure"/>
    /// when one is given: the first step of every <c>Add…(configure)</c> extension.
    /// </summary>
    internal OptionsBuilder<TOptions> BindOptions<TOptions>(string sectionName, Action<TOptions>? configure)
        where TOptions : class
    {
        var options = BindOptions<TOptions>(sectionName);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        return options;
    }

    internal OptionsBuilder<TOptions> BindOptions<TOptions>(IConfiguration? section, string path, string? name)
        where TOptions : class
    {
        name ??= Microsoft.Extensions.Options.Options.DefaultName;
        var options = Services.AddOptions<TOptions>(name);
        if (Services.Any(d => d.ServiceType == typeof(IValidateOptions<TOptions>) && d.ImplementationInstance is ListedProblemsValidator<TOptions> v && v.Name == name))
        {
            return options;
        }

        if (section is not null && (section is not IConfigurationSection child || child.Exists()))
        {
            options.Bind(section);
        }

        Services.AddSingleton<IValidateOptions<TOptions>>(new ListedProblemsValidator<TOptions>(name, path));
        return options.ValidateOnStart();
    }

    private sealed class ListedProblemsValidator<TOptions>(string name, string path) : IValidateOptions<TOptions>
        where TOptions : class
    {
        public string Name { get; } = name;

        public ValidateOptionsResult Validate(string? optionsName, TOptions options)
        {
            if ((optionsName ?? Microsoft.Extensions.Options.Options.DefaultName) != Name)
            {
                return ValidateOptionsResult.Skip;
            }

            var problems = OptionsValidator.FindProblems(options, path);
            return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
        }
    }
}
