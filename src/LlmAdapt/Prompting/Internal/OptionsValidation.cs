using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Prompting.Internal;

/// <summary>Validates an options object by its DataAnnotations and throws once, listing every problem.</summary>
internal static class OptionsValidation
{
    public static void ThrowIfInvalid(object options, string what)
    {
        ArgumentNullException.ThrowIfNull(options);
        var results = new List<ValidationResult>();
        var valid = Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        if (!valid)
        {
            throw new ValidationException($"{what} options are invalid: {string.Join(" ", results.Select(r => r.ErrorMessage))}");
        }
    }
}
