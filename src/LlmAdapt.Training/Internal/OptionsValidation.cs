using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Training.Internal;

internal static class OptionsValidation
{
    public static void Validate(object options, string name)
    {
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new ArgumentException($"Invalid {name}: {string.Join(" ", results.Select(r => r.ErrorMessage))}");
        }
    }
}
