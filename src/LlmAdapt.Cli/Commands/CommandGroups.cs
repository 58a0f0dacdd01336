using System.CommandLine;

namespace LlmAdapt.Cli.Commands;

/// <summary>
/// The verb groups that several verb sets join (<c>eval</c>, <c>train</c>, <c>pairs</c>): each made once, by whichever
/// set comes first, with the one description it has here.
/// </summary>
internal static class CommandGroups
{
    /// <summary>Returns <c>eval</c>: evaluations of classifiers, reward models, preferences, perplexity and retrieval.</summary>
    public static Command Eval(Command root) => Get(root, "eval", "Evaluate adapted models and retrievers on test sets.");

    /// <summary>Returns <c>train</c>: heads on frozen embeddings.</summary>
    public static Command Train(Command root) => Get(root, "train", "Train heads on frozen embeddings: text classifiers and reward models.");

    /// <summary>Returns <c>pairs</c>: preference data preparation.</summary>
    public static Command Pairs(Command root) => Get(root, "pairs", "Prepare preference pairs.");

    private static Command Get(Command root, string name, string description)
    {
        var group = root.Subcommands.FirstOrDefault(c => c.Name == name);
        if (group is null)
        {
            group = new Command(name, description);
            root.Subcommands.Add(group);
        }

        return group;
    }
}
