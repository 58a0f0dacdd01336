using System.ComponentModel.DataAnnotations;

namespace LlmAdapt.Onnx.Generation;

/// <summary>How <see cref="OnnxDecoderModel.Load"/> sets up ONNX Runtime.</summary>
public sealed class OnnxDecoderModelOptions
{
    /// <summary>
    /// Gets or sets the threads ONNX Runtime uses inside one step; 0 lets ONNX Runtime choose (one per physical core).
    /// <see langword="null"/> (the default) takes <c>intra_op_num_threads</c> from the folder's <c>genai_config.json</c>,
    /// else <see cref="DefaultIntraOpThreads"/>, the rule ONNX Runtime GenAI applies: half the logical processors, at
    /// least 1 and at most 16 (so 1 on a 2-core machine, where a decode step of a small model is too short to share out
    /// and waiting pool threads spin). From 0 to 1,024.
    /// </summary>
    [Range(0, 1024)]
    public int? IntraOpThreads { get; set; }

    /// <summary>Gets the thread count used when neither <see cref="IntraOpThreads"/> nor the folder sets one: half of <see cref="Environment.ProcessorCount"/>, from 1 to 16.</summary>
    public static int DefaultIntraOpThreads => Math.Clamp(Environment.ProcessorCount / 2, 1, 16);

    /// <summary>
    /// Gets or sets whether, on Linux, the memory the session allocates for the weights is backed by transparent huge
    /// pages (<c>madvise</c> with <c>MADV_HUGEPAGE</c> and <c>MADV_COLLAPSE</c> on the large anonymous mappings made while
    /// loading). A decode step streams every weight once, so 4 KiB pages make it TLB-bound; measured on a
    /// GPT-2-small-shaped model, huge pages cut CPU time per token by 10–25 % and removed a 10–15 % swing that otherwise
    /// depended on where the allocator placed the weights. Default <see langword="true"/>; ignored elsewhere, and
    /// where the kernel refuses (THP <c>never</c>, older kernels) the pages stay as they are.
    /// </summary>
    public bool TransparentHugePages { get; set; } = true;

    /// <summary>
    /// Gets or sets how many sequences share one decode step (continuous batching); 0 (the default) decodes each call on
    /// its own. Above 0, <see cref="OnnxDecoderModel.GenerateAsync"/> and <see cref="OnnxDecoderModel.GenerateStreamingAsync"/>
    /// calls (and so <see cref="OnnxChatClient"/>'s) join one running batch per LoRA adapter between two steps, up to this
    /// many per adapter (more wait their turn), and leave it when they finish or are cancelled; each keeps its own
    /// positions, cache slot, sampler and stop rule, and its greedy ids equal those it gets alone. Needs a graph with an
    /// attention-mask input. From 0 to 1,024.
    /// </summary>
    [Range(0, 1024)]
    public int MaxBatchSize { get; set; }

    /// <summary>Gets or sets the context length when the model's config gives none (or to use less of it); 0 (the default) takes the config's.</summary>
    [Range(0, 10_000_000)]
    public int ContextLength { get; set; }
}
