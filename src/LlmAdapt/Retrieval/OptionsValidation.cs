using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Retrieval;

/// <summary>Validates an options object's DataAnnotations and throws one exception listing every problem.</summary>
internal static class OptionsValidation
{
    public static void Validate(object options, params IEnumerable<string>[] extraProblems)
    {
        ArgumentNullException.ThrowIfNull(options);
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        var problems = results.Select(r => r.ErrorMessage ?? "invalid value").Concat(extraProblems.SelectMany(p => p)).ToList();
        if (problems.Count > 0)
        {
            throw new ValidationException($"{options.GetType().Name} is invalid: {string.Join("; ", problems)}.");
        }
    }
}
