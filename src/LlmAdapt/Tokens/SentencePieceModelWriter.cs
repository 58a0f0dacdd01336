using System.Buffers.Binary;
using System.Text;

namespace LlmAdapt.Tokens;

/// <summary>
/// Writes the subset of SentencePiece's <c>ModelProto</c> that a BPE model needs, as protobuf bytes that
/// <see cref="Microsoft.ML.Tokenizers.LlamaTokenizer.Create(Stream, bool, bool, IReadOnlyDictionary{string, int}?)"/>
/// reads: the pieces with scores and types, a BPE trainer spec with the special ids, and the whitespace rules.
/// </summary>
internal static class SentencePieceModelWriter
{
    private const int Normal = 1, Unknown = 2, Control = 3, Byte = 6;

    /// <summary>The ids and texts of the pieces SentencePiece treats specially; an id of -1 means none.</summary>
    internal readonly record struct SpecialPieces(int Unknown, int Beginning, int End, int Padding);

    /// <param name="pieces">Every piece by id, 0..n-1.</param>
    /// <param name="merges">Hugging Face's merges ("a b"), in rank order.</param>
    /// <param name="control">The ids of the special (control) tokens.</param>
    /// <param name="special">Unknown, beginning, end and padding ids.</param>
    /// <param name="byteFallback">Whether unknown characters fall back to the <c>&lt;0xNN&gt;</c> byte pieces.</param>
    /// <param name="dummyPrefix">Whether a space is put before the text (Metaspace's prepend, or a <c>Prepend("▁")</c> normalizer).</param>
    public static byte[] Write(IReadOnlyList<string> pieces, IReadOnlyList<string> merges, IReadOnlySet<int> control, SpecialPieces special, bool byteFallback, bool dummyPrefix)
    {
        // SentencePiece merges the adjacent pair whose result scores highest; Hugging Face merges by rank, so a merged
        // piece scores minus the rank of the merge that first makes it, and a piece no merge makes scores below them all
        // (SentencePiece would merge into any vocabulary entry; Hugging Face only through its merges).
        var rank = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < merges.Count; i++)
        {
            rank.TryAdd(merges[i].Replace(" ", string.Empty, StringComparison.Ordinal), i);
        }

        var output = new MemoryStream();
        for (var id = 0; id < pieces.Count; id++)
        {
            var piece = pieces[id];
            var type = id == special.Unknown ? Unknown
                : control.Contains(id) ? Control
                : IsBytePiece(piece) ? Byte
                : Normal;
            var entry = new MemoryStream();
            WriteString(entry, 1, piece);
            WriteFloat(entry, 2, rank.TryGetValue(piece, out var r) ? -(float)r : -(float)(merges.Count + id));
            WriteVarintField(entry, 3, type);
            WriteBytes(output, 1, entry.ToArray());
        }

        string TextOf(int id, string fallback) => id >= 0 ? pieces[id] : fallback;
        var trainer = new MemoryStream();
        WriteVarintField(trainer, 3, 2); // model_type = BPE
        WriteVarintField(trainer, 4, pieces.Count);
        WriteVarintField(trainer, 35, byteFallback ? 1 : 0);
        WriteVarintField(trainer, 40, special.Unknown);
        WriteVarintField(trainer, 41, special.Beginning);
        WriteVarintField(trainer, 42, special.End);
        WriteVarintField(trainer, 43, special.Padding);
        WriteString(trainer, 45, TextOf(special.Unknown, "<unk>"));
        WriteString(trainer, 46, TextOf(special.Beginning, "<s>"));
        WriteString(trainer, 47, TextOf(special.End, "</s>"));
        WriteBytes(output, 2, trainer.ToArray());

        var normalizer = new MemoryStream();
        WriteString(normalizer, 1, "identity");
        WriteVarintField(normalizer, 3, dummyPrefix ? 1 : 0); // add_dummy_prefix
        WriteVarintField(normalizer, 4, 0); // remove_extra_whitespaces: Hugging Face keeps them
        WriteVarintField(normalizer, 5, 1); // escape_whitespaces
        WriteBytes(output, 3, normalizer.ToArray());
        return output.ToArray();
    }

    private static bool IsBytePiece(string piece)
        => piece.Length == 6 && piece.StartsWith("<0x", StringComparison.Ordinal) && piece[^1] == '>' && char.IsAsciiHexDigitUpper(piece[3]) && char.IsAsciiHexDigitUpper(piece[4]);

    private static void WriteVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }

        s.WriteByte((byte)value);
    }

    private static void WriteVarintField(Stream s, int field, int value)
    {
        WriteVarint(s, (ulong)(field << 3));
        WriteVarint(s, (ulong)(long)value); // negative int32 is sign-extended to ten bytes, as protobuf does
    }

    private static void WriteBytes(Stream s, int field, byte[] bytes)
    {
        WriteVarint(s, (ulong)((field << 3) | 2));
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteString(Stream s, int field, string value) => WriteBytes(s, field, Encoding.UTF8.GetBytes(value));

    private static void WriteFloat(Stream s, int field, float value)
    {
        WriteVarint(s, (ulong)((field << 3) | 5));
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        s.Write(bytes);
    }
}
