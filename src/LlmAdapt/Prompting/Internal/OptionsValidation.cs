using System.ComponentModel.DataAnnotations;
using LlmAdapt.Resilience;

namespace LlmAdapt.Prompting.Internal;

/// <summary>Validates an options object by its DataAnnotations and throws once, listing every problem.</summary>
internal static class OptionsValidation
{
    public static IReadOnlyList<string> Problems(object options, string what)
    {
        ArgumentNullException.ThrowIfNull(options);
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        return [.. results.Select(r => $"{what}: {r.ErrorMessage}")];
    }

    public static void ThrowIfInvalid(object options, string what)
    {
        var problems = Problems(options, what);
        if (problems.Count > 0)
        {
            throw new OptionsValidationProblemException(problems);
        }
    }
}
