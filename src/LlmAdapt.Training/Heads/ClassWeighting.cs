namespace LlmAdapt.Training.Heads;

/// <summary>How the classification loss weighs the classes.</summary>
public enum ClassWeighting
{
    /// <summary>Every example counts the same.</summary>
    None,

    /// <summary>Each class weighs n / (classes · n_class), so rare classes count as much as common ones in total.</summary>
    Balanced,
}
