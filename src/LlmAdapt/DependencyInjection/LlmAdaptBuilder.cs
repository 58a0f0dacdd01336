using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

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
}
