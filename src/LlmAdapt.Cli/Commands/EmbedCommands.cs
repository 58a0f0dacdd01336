using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using LlmAdapt.Formats;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Retrieval.Chunking;

namespace LlmAdapt.Cli.Commands;

/// <summary><c>llmadapt embed</c>: sentence embeddings of a file of texts with a local ONNX model.</summary>
internal static class EmbedCommands
{
    private const int ChunkSize = 1024;

    public static Command Create(CliContext context)
    {
        var input = new Option<FileInfo>("--in") { Description = "Texts: one a line, or JSONL with --text-field.", Required = true };
        var output = new Option<FileInfo>("--out") { Description = "Where to write the embeddings, one JSON object a line: {\"line\", \"embedding\"} (line: the text's 1-based line in --in).", Required = true };
        var textField = new Option<string?>("--text-field") { Description = "Read --in as JSONL and embed this string field of each object." };
        var model = new Option<DirectoryInfo?>("--model") { Description = "A sentence-transformers ONNX model folder (model.onnx + vocab.txt or tokenizer.json). Default: the built-in all-MiniLM-L6-v2." };
        var precision = new Option<EmbeddingPrecision>("--precision") { Description = "Float32 (default) or Int8 (quantized once and cached).", DefaultValueFactory = _ => EmbeddingPrecision.Float32 };
        var json = CliContext.JsonOption();

        var command = new Command("embed", "Embed texts with a local sentence-transformers model and write them as JSONL.") { input, output, textField, model, precision, json };
        command.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var inFile = parseResult.GetRequiredValue(input);
            var outFile = parseResult.GetRequiredValue(output);
            var texts = ReadTexts(inFile.FullName, parseResult.GetValue(textField));
            var options = new OnnxEmbeddingOptions { Precision = parseResult.GetValue(precision) };
            var folder = parseResult.GetValue(model);
            using var generator = folder is null ? OnnxEmbeddingGenerator.CreateDefault(options) : OnnxEmbeddingGenerator.Create(folder.FullName, options);

            var clock = Stopwatch.StartNew();
            long tokens = 0, truncated = 0;
            await AtomicFile.WriteAsync(outFile.FullName, async (stream, token) =>
            {
                await using var writer = new Utf8JsonWriter(stream);
                for (var start = 0; start < texts.Count; start += ChunkSize)
                {
                    var chunk = texts.Skip(start).Take(ChunkSize).Select(t => t.Text).ToList();
                    var result = await generator.GenerateAsync(chunk, null, token).ConfigureAwait(false);
                    tokens += result.Usage?.InputTokenCount ?? 0;
                    truncated += result.Usage?.AdditionalCounts?.GetValueOrDefault("truncated_texts") ?? 0;
                    for (var i = 0; i < result.Count; i++)
                    {
                        writer.WriteStartObject();
                        writer.WriteNumber("line", texts[start + i].Line);
                        writer.WriteStartArray("embedding");
                        foreach (var v in result[i].Vector.Span)
                        {
                            writer.WriteNumberValue(v);
                        }

                        writer.WriteEndArray();
                        writer.WriteEndObject();
                        await writer.FlushAsync(token).ConfigureAwait(false);
                        stream.WriteByte((byte)'\n');
                        writer.Reset();
                    }

                    await context.Error.WriteLineAsync($"embedded {Math.Min(start + ChunkSize, texts.Count)}/{texts.Count}").ConfigureAwait(false);
                }
            }, cancellationToken).ConfigureAwait(false);

            var seconds = clock.Elapsed.TotalSeconds;
            var perSecond = texts.Count / Math.Max(seconds, 1e-9);
            await context.Out.WriteLineAsync($"{texts.Count} texts, {tokens} tokens ({truncated} truncated to {generator.MaxSequenceLength}) in {seconds:F2} s, {perSecond:F1} texts/s -> {outFile.FullName}").ConfigureAwait(false);
            if (parseResult.GetValue(json))
            {
                context.WriteJson(new
                {
                    texts = texts.Count,
                    tokens,
                    truncated_texts = truncated,
                    seconds,
                    texts_per_second = perSecond,
                    model = generator.ModelId,
                    dimensions = generator.Dimensions,
                    precision = generator.Precision.ToString(),
                    output = outFile.FullName,
                });
            }

            return CliApp.Success;
        }));

        return command;
    }

    private static List<(int Line, string Text)> ReadTexts(string path, string? textField)
    {
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: no such file.", path);
        }

        // A binary file would otherwise embed its bytes as text and exit 0: refuse it by the folder reader's rule.
        var whole = DocumentFolder.DecodeText(File.ReadAllBytes(path), out var problem)
            ?? throw new InvalidDataFileException(path, 0, $"{problem}; --in takes UTF-8 text, one text a line (or JSONL with --text-field).");
        var texts = new List<(int Line, string Text)>();
        var line = 0;
        using var reader = new StringReader(whole);
        while (reader.ReadLine() is { } raw)
        {
            line++;
            if (textField is null)
            {
                // Every line is a text, an empty one included (it embeds as [CLS] [SEP]), so output lines match input lines.
                texts.Add((line, raw));
                continue;
            }

            if (string.IsNullOrWhiteSpace(raw))
            {
                continue;
            }

            try
            {
                using var doc = JsonDocument.Parse(raw);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(textField, out var value) || value.ValueKind != JsonValueKind.String)
                {
                    throw new InvalidDataFileException(path, line, $"no string field '{textField}'.");
                }

                texts.Add((line, value.GetString()!));
            }
            catch (JsonException ex)
            {
                throw new InvalidDataFileException(path, line, $"not valid JSON: {ex.Message}", ex);
            }
        }

        return texts;
    }
}
