using System.ComponentModel.DataAnnotations;
using System.Reflection;

namespace LlmAdapt;

/// <summary>
/// The one way LlmAdapt validates an options object: every DataAnnotations attribute on every public property (all
/// problems, not the first), then, when the options implement <see cref="IValidatableObject"/>, their own cross-field
/// rules, which run even when an attribute failed. Components call <see cref="ThrowIfInvalid"/> when built; DI
/// registrations reach the same rules through <c>LlmAdaptBuilder.BindOptions</c> at start-up.
/// </summary>
internal static class OptionsValidator
{
    /// <summary>Finds every problem of <paramref name="options"/>.</summary>
    /// <param name="options">The options.</param>
    /// <param name="path">A prefix for each line, such as the configuration path <c>LlmAdapt:Retrieval</c>, or <see langword="null"/>.</param>
    /// <returns>One line per problem; empty when the options are valid.</returns>
    public static IReadOnlyList<string> FindProblems(object options, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var results = new List<ValidationResult>();
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanRead || property.GetIndexParameters().Length > 0)
            {
                continue;
            }

            var attributes = property.GetCustomAttributes<ValidationAttribute>(inherit: true).ToArray();
            if (attributes.Length > 0)
            {
                var context = new ValidationContext(options) { MemberName = property.Name, DisplayName = property.Name };
                Validator.TryValidateValue(property.GetValue(options), context, results, attributes);
            }
        }

        if (options is IValidatableObject self)
        {
            results.AddRange(self.Validate(new ValidationContext(options)).Where(r => r != ValidationResult.Success));
        }

        var prefix = string.IsNullOrEmpty(path) ? string.Empty : path + ": ";
        return [.. results.Select(r => prefix + (r.ErrorMessage ?? $"{string.Join(", ", r.MemberNames)} is invalid"))];
    }

    /// <summary>Throws one <see cref="InvalidOptionsException"/> listing every problem of <paramref name="options"/>.</summary>
    /// <param name="options">The options.</param>
    /// <param name="optionsName">The name the message gives the options; the type's name when <see langword="null"/>.</param>
    /// <exception cref="InvalidOptionsException">One or more options are invalid; every problem is listed.</exception>
    public static void ThrowIfInvalid(object options, string? optionsName = null)
    {
        var problems = FindProblems(options);
        if (problems.Count > 0)
        {
            throw new InvalidOptionsException(optionsName ?? options.GetType().Name, problems);
        }
    }

    /// <summary>Returns the problems of a nested options object as results of its parent's <see cref="IValidatableObject.Validate"/>.</summary>
    /// <param name="nested">The nested options, or <see langword="null"/> (no problems).</param>
    /// <param name="memberName">The parent's property holding them.</param>
    /// <returns>One result per problem, each prefixed with <paramref name="memberName"/>.</returns>
    public static IEnumerable<ValidationResult> Nested(object? nested, string memberName)
        => nested is null ? [] : FindProblems(nested, memberName).Select(p => new ValidationResult(p, [memberName]));
}
