using System.Security.Cryptography;
using LlmAdapt.Preference;
using LlmAdapt.Training.Data;

namespace LlmAdapt.Training.Dpo;

/// <summary>A preference pair as token ids: the (truncated) prompt, and each response with its end-of-text token.</summary>
internal sealed record TokenizedPair(int[] Prompt, int[] Chosen, int[] Rejected);

/// <summary>
/// Tokenizes pairs with the checkpoint's tokenizer and packs them into batches. The truncation rule: the prompt keeps
/// its last <see cref="DpoOptions.MaxPromptTokens"/> tokens, each response its first
/// <see cref="DpoOptions.MaxResponseTokens"/> (end-of-text included), and when the prompt and the longer response still
/// exceed the context the prompt is cut further from the left. Every cut is counted.
/// </summary>
internal sealed class DpoPairs
{
    private DpoPairs(IReadOnlyList<TokenizedPair> pairs, int sequenceLength, int truncatedPrompts, int truncatedResponses, int identicalAfterTruncation)
    {
        Pairs = pairs;
        SequenceLength = sequenceLength;
        TruncatedPrompts = truncatedPrompts;
        TruncatedResponses = truncatedResponses;
        IdenticalAfterTruncation = identicalAfterTruncation;
    }

    public IReadOnlyList<TokenizedPair> Pairs { get; }

    /// <summary>Gets T, the positions per sequence: the longest pair's tokens less one (its last token is only a target).</summary>
    public int SequenceLength { get; }

    public int TruncatedPrompts { get; }

    /// <summary>Gets how many responses (chosen and rejected counted apart) lost tokens.</summary>
    public int TruncatedResponses { get; }

    /// <summary>Gets how many pairs' two responses became the same tokens once cut (they teach nothing).</summary>
    public int IdenticalAfterTruncation { get; }

    public static DpoPairs Tokenize(IReadOnlyList<PreferencePair> pairs, DpoOptions options, DecoderTokenizer tokenizer, int contextLength)
    {
        var result = new List<TokenizedPair>(pairs.Count);
        int truncatedPrompts = 0, truncatedResponses = 0, identical = 0, longest = 2;
        var budget = contextLength + 1;
        foreach (var pair in pairs)
        {
            var prompt = tokenizer.Encode(options.PromptFormat is { } format ? format.RenderPrompt(pair.Prompt) : pair.Prompt);

            // The first token is never predicted, so a sequence starts with BOS, or end-of-text when the prompt is empty.
            if (tokenizer.BeginningOfText is { } bos)
            {
                prompt = [bos, .. prompt];
            }
            else if (prompt.Length == 0)
            {
                prompt = [tokenizer.EndOfText];
            }

            int[] Response(string text)
            {
                int[] ids = [.. tokenizer.Encode(text), tokenizer.EndOfText];
                var keep = Math.Min(ids.Length, Math.Min(options.MaxResponseTokens, budget - 1));
                if (keep < ids.Length)
                {
                    truncatedResponses++;
                }

                return ids[..keep];
            }

            var chosen = Response(pair.Chosen);
            var rejected = Response(pair.Rejected);
            var promptKeep = Math.Min(prompt.Length, Math.Min(options.MaxPromptTokens, budget - Math.Max(chosen.Length, rejected.Length)));
            if (promptKeep < prompt.Length)
            {
                truncatedPrompts++;
                prompt = prompt[^promptKeep..];
            }

            if (chosen.AsSpan().SequenceEqual(rejected))
            {
                identical++;
            }

            longest = Math.Max(longest, prompt.Length + Math.Max(chosen.Length, rejected.Length));
            result.Add(new TokenizedPair(prompt, chosen, rejected));
        }

        return new DpoPairs(result, longest - 1, truncatedPrompts, truncatedResponses, identical);
    }

    /// <summary>
    /// Packs pairs into 2·<paramref name="batch"/> rows of T: rows [0, batch) the chosen sequences, [batch, 2·batch) the
    /// rejected; targets are −1 except on response tokens. Rows past the pairs are padding without targets.
    /// </summary>
    public static (int[] Inputs, int[] Targets) Pack(IReadOnlyList<TokenizedPair> pairs, int batch, int t)
    {
        var inputs = new int[2 * batch * t];
        var targets = new int[2 * batch * t];
        Array.Fill(targets, -1);
        for (var j = 0; j < pairs.Count; j++)
        {
            FillRow(inputs, targets, pairs[j].Prompt, pairs[j].Chosen, j, t);
            FillRow(inputs, targets, pairs[j].Prompt, pairs[j].Rejected, batch + j, t);
        }

        return (inputs, targets);
    }

    /// <summary>
    /// Writes one sequence into row <paramref name="row"/> of T positions: the prompt and the response less its last
    /// token as inputs, the response's tokens as the targets (−1 elsewhere is the caller's). A prompt of p tokens and a
    /// response of r need p + r − 1 ≤ T positions.
    /// </summary>
    public static void FillRow(int[] inputs, int[] targets, int[] prompt, int[] response, int row, int t)
    {
        var offset = row * t;
        prompt.CopyTo(inputs, offset);
        response.AsSpan(0, response.Length - 1).CopyTo(inputs.AsSpan(offset + prompt.Length));

        // Position i predicts token i + 1: the response's tokens are the targets of positions p − 1 … p + r − 2.
        response.CopyTo(targets, offset + prompt.Length - 1);
    }

    /// <summary>
    /// Returns each sequence's summed log-probability of its response tokens under <paramref name="model"/> as it is
    /// (adapters on or off as the caller set them), scoring <paramref name="batch"/> sequences per forward in T =
    /// the longest prompt + response − 1 positions. The scoring rule of DPO's log-probabilities, for any sequences.
    /// </summary>
    public static double[] ScoreSequences(Models.DecoderModel<float> model, IReadOnlyList<(int[] Prompt, int[] Response)> sequences, int batch, CancellationToken cancellationToken)
    {
        var result = new double[sequences.Count];
        if (sequences.Count == 0)
        {
            return result;
        }

        var t = sequences.Max(s => s.Prompt.Length + s.Response.Length - 1);
        var training = model.Training;
        model.Training = false;
        try
        {
            var sums = new double[batch];
            var inputs = new int[batch * t];
            var targets = new int[batch * t];
            for (var start = 0; start < sequences.Count; start += batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var count = Math.Min(batch, sequences.Count - start);
                Array.Clear(inputs);
                Array.Fill(targets, -1);
                for (var j = 0; j < count; j++)
                {
                    FillRow(inputs, targets, sequences[start + j].Prompt, sequences[start + j].Response, j, t);
                }

                model.Forward(inputs, targets, batch, t);
                model.SumTargetLogProbs(sums);
                sums.AsSpan(0, count).CopyTo(result.AsSpan(start));
            }
        }
        finally
        {
            model.Training = training;
        }

        return result;
    }

    /// <summary>Returns a digest of the pairs' tokens, which names the reference log-probabilities computed for them.</summary>
    public string Fingerprint()
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[4];
        void Add(int[] ids)
        {
            BitConverter.TryWriteBytes(buffer, ids.Length);
            hash.AppendData(buffer);
            hash.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids.AsSpan()));
        }

        foreach (var pair in Pairs)
        {
            Add(pair.Prompt);
            Add(pair.Chosen);
            Add(pair.Rejected);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
