namespace LlmAdapt;

/// <summary>A prompt needs more tokens than its budget allows and the budget's rule is to refuse.</summary>
public sealed class TokenBudgetExceededException : LlmAdaptException
{
    /// <summary>Initializes a new instance.</summary>
    public TokenBudgetExceededException()
    {
    }

    /// <summary>Initializes a new instance with a message.</summary>
    /// <param name="message">The message.</param>
    public TokenBudgetExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public TokenBudgetExceededException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance with the numbers.</summary>
    /// <param name="requiredTokens">How many tokens the prompt needs.</param>
    /// <param name="budgetTokens">How many the budget allows.</param>
    /// <param name="what">What was being counted, for the message.</param>
    public TokenBudgetExceededException(int requiredTokens, int budgetTokens, string what = "prompt")
        : base($"The {what} needs {requiredTokens} tokens but the budget allows {budgetTokens} ({requiredTokens - budgetTokens} over).")
    {
        RequiredTokens = requiredTokens;
        BudgetTokens = budgetTokens;
    }

    /// <summary>Gets how many tokens were needed.</summary>
    public int RequiredTokens { get; }

    /// <summary>Gets how many tokens the budget allows.</summary>
    public int BudgetTokens { get; }
}
