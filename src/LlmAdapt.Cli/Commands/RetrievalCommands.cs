using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using LlmAdapt.Cli.Retrieval;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.PostgreSql;
using LlmAdapt.Prompting;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Chunking;
using LlmAdapt.Retrieval.Evaluation;
using LlmAdapt.Retrieval.Indexes;
using LlmAdapt.Retrieval.Packing;
using LlmAdapt.Retrieval.Persistence;
using LlmAdapt.Retrieval.Retrievers;
using LlmAdapt.Tokens;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmAdapt.Cli.Commands;

/// <summary><c>llmadapt index build</c>, <c>llmadapt ask</c>, <c>llmadapt eval retrieval</c>: retrieval-augmented generation.</summary>
internal static class RetrievalCommands
{
    private const string CacheFolder = ".llmadapt-cache";

    /// <summary>Adds the verbs to <paramref name="root"/> (joining an <c>eval</c> group another verb set may have made).</summary>
    public static void AddTo(Command root, CliContext context)
    {
        root.Subcommands.Add(new Command("index", "Build retrieval indexes from documents.") { CreateIndexBuild(context) });
        root.Subcommands.Add(CreateAsk(context));
        var eval = root.Subcommands.FirstOrDefault(c => c.Name == "eval");
        if (eval is null)
        {
            eval = new Command("eval", "Evaluate adapted models and retrievers on test sets.");
            root.Subcommands.Add(eval);
        }

        eval.Subcommands.Add(CreateEvalRetrieval(context));
    }

    private static Option<string> EmbeddingsOption() => new("--embeddings")
    {
        Description = "Embedding model for dense search: 'default' (built-in all-MiniLM-L6-v2, offline) or 'none' (keyword search only).",
        DefaultValueFactory = _ => "default",
    };

    private static Command CreateIndexBuild(CliContext context)
    {
        var docs = new Option<DirectoryInfo>("--docs") { Description = "Folder of Markdown (.md) and text (.txt) files, read recursively.", Required = true };
        var output = new Option<FileInfo?>("--out") { Description = "Index file to write (replaced atomically); or give --postgres." };
        var postgres = PostgresCli.ConnectionOption();
        var table = PostgresCli.TableOption("llmadapt_chunks");
        var embeddings = EmbeddingsOption();
        var maxTokens = new Option<int>("--max-tokens") { Description = "Most tokens per chunk.", DefaultValueFactory = _ => 200 };
        var overlap = new Option<int>("--overlap") { Description = "Tokens repeated between consecutive chunks.", DefaultValueFactory = _ => 24 };
        var allow = new Option<string[]>("--allow") { Description = "Principal or group allowed to see every document (repeatable); without it, access lists are not recorded.", AllowMultipleArgumentsPerToken = false };
        var json = CliContext.JsonOption();
        var command = new Command("build", "Chunk a folder of documents, embed them and save a BM25 + vector index to one file.") { docs, output, postgres, table, embeddings, maxTokens, overlap, allow, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var settings = new BuildSettings(parse.GetRequiredValue(embeddings), parse.GetValue(maxTokens), parse.GetValue(overlap), parse.GetValue(allow) ?? []);
            var connection = PostgresCli.ConnectionString(parse, postgres);
            if ((connection is null) == (parse.GetValue(output) is null))
            {
                throw new CliUsageException("Give exactly one of --out FILE or --postgres [CONNECTION].");
            }

            var watch = Stopwatch.StartNew();
            if (connection is not null)
            {
                var (chunks, documentCount, skippedCount) = await ReadChunksAsync(context, parse.GetRequiredValue(docs).FullName, settings, cancellationToken).ConfigureAwait(false);
                using var generator = settings.Embeddings == "default" ? CreateGenerator(null) : null;
                var tableName = parse.GetRequiredValue(table);
                await using var store = await PostgresCli.OpenAsync(connection, tableName, generator, exact: false, cancellationToken).ConfigureAwait(false);
                await ProgressBar.RunAsync(context, generator is null ? "writing" : "embedding and writing", chunks.Count, progress => store.AddAsync(chunks, generator, progress, cancellationToken)).ConfigureAwait(false);
                var total = await store.CountAsync(cancellationToken).ConfigureAwait(false);
                await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"indexed {chunks.Count} chunks from {documentCount} files ({skippedCount} skipped) into {PostgresCli.Describe(tableName)} ({total} chunks in all) in {watch.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    context.WriteJson(new { table = tableName, chunks = chunks.Count, files = documentCount, skipped = skippedCount, dimensions = store.Dimensions, seconds = watch.Elapsed.TotalSeconds });
                }

                return CliApp.Success;
            }

            var (index, files, skipped) = await BuildAsync(context, parse.GetRequiredValue(docs).FullName, settings, cancellationToken).ConfigureAwait(false);
            using (index)
            {
                var path = parse.GetValue(output)!.FullName;
                await DocumentIndexFile.SaveAsync(index, path, cancellationToken).ConfigureAwait(false);
                await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"indexed {index.Count} chunks from {files} files ({skipped} skipped) into {path} in {watch.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    context.WriteJson(new { index = path, chunks = index.Count, files, skipped, dimensions = index.Dimensions, seconds = watch.Elapsed.TotalSeconds });
                }
            }

            return CliApp.Success;
        }));
        return command;
    }

    private static Command CreateAsk(CliContext context)
    {
        var question = new Argument<string>("QUESTION") { Description = "The question." };
        var indexFile = new Option<FileInfo?>("--index") { Description = "Index file built by 'llmadapt index build'." };
        var docs = new Option<DirectoryInfo?>("--docs") { Description = "Folder of documents; the index is built on first use and cached in DIR/.llmadapt-cache." };
        var embeddings = EmbeddingsOption();
        var k = new Option<int>("--k") { Description = "How many passages to show or pack.", DefaultValueFactory = _ => 5 };
        var principal = new Option<string?>("--principal") { Description = "Who is asking; only passages this principal may see are used." };
        var groups = new Option<string[]>("--group") { Description = "A group the principal belongs to (repeatable)." };
        var endpoint = new Option<Uri?>("--endpoint") { Description = "OpenAI-compatible chat endpoint (for example http://localhost:11434/v1); with it, print a cited answer. Key from LLMADAPT_API_KEY or OPENAI_API_KEY." };
        var model = new Option<string?>("--model") { Description = "Chat model name at the endpoint." };
        var postgres = PostgresCli.ConnectionOption();
        var table = PostgresCli.TableOption("llmadapt_chunks");
        var json = CliContext.JsonOption();
        var command = new Command("ask", "Answer a question from documents: the top passages with citations, or with --endpoint a cited answer.")
        {
            question, indexFile, docs, postgres, table, embeddings, k, principal, groups, endpoint, model, json,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var topK = parse.GetValue(k);
            if (topK <= 0)
            {
                throw new CliUsageException($"--k must be at least 1 (got {topK}).");
            }

            var file = parse.GetValue(indexFile);
            var folder = parse.GetValue(docs);
            var connection = PostgresCli.ConnectionString(parse, postgres);
            if ((file is null ? 0 : 1) + (folder is null ? 0 : 1) + (connection is null ? 0 : 1) != 1)
            {
                throw new CliUsageException("Give exactly one of --index FILE, --docs DIR or --postgres [CONNECTION].");
            }

            if (parse.GetValue(endpoint) is not null && string.IsNullOrWhiteSpace(parse.GetValue(model)))
            {
                throw new CliUsageException("--endpoint needs --model.");
            }

            var who = parse.GetValue(principal) is { } id ? new Principal(id, parse.GetValue(groups) ?? []) : null;
            var text = parse.GetRequiredValue(question);
            if (connection is not null)
            {
                using var queryModel = parse.GetRequiredValue(embeddings) == "none" ? null : CreateGenerator(null);
                await using var store = await PostgresCli.OpenAsync(connection, parse.GetRequiredValue(table), queryModel, exact: false, cancellationToken).ConfigureAwait(false);
                var fromPostgres = queryModel is null
                    ? new PostgresKeywordRetriever(store)
                    : (IRetriever)new HybridRetriever([new PostgresKeywordRetriever(store), new PostgresDenseRetriever(store, queryModel)], DefaultHybrid);
                return await ShowAsync(context, fromPostgres, text, who, topK, parse.GetValue(endpoint), parse.GetValue(model), parse.GetValue(json), keywordOnly: queryModel is null, cancellationToken).ConfigureAwait(false);
            }

            using var index = file is not null
                ? await DocumentIndexFile.LoadAsync(file.FullName, cancellationToken).ConfigureAwait(false)
                : await LoadOrBuildCachedAsync(context, folder!.FullName, new BuildSettings(parse.GetRequiredValue(embeddings), 200, 24, []), cancellationToken).ConfigureAwait(false);
            using var generator = index.Dimensions is null ? null : CreateGenerator(index.Options.EmbeddingModelId);
            var retriever = CreateRetriever(index, generator, index.Dimensions is null ? "bm25" : "hybrid");
            return await ShowAsync(context, retriever, text, who, topK, parse.GetValue(endpoint), parse.GetValue(model), parse.GetValue(json), keywordOnly: index.Dimensions is null, cancellationToken).ConfigureAwait(false);
        }));
        return command;
    }

    // Prints the top passages, or with an endpoint a cited answer.
    private static async Task<int> ShowAsync(CliContext context, IRetriever retriever, string text, Principal? who, int topK, Uri? endpoint, string? model, bool json, bool keywordOnly, CancellationToken cancellationToken)
    {
        if (endpoint is not null)
        {
            return await AnswerAsync(context, retriever, text, who, topK, endpoint, model!, json, cancellationToken).ConfigureAwait(false);
        }

        var results = await retriever.RetrieveAsync(new RetrievalRequest { Query = text, TopK = topK, Principal = who }, cancellationToken).ConfigureAwait(false);
        if (results.Count == 0)
        {
            await context.Out.WriteLineAsync(TextAnalyzer.English.Analyze(text).Count == 0 && keywordOnly
                ? "No passage found: the question has only stop words."
                : "No passage found.").ConfigureAwait(false);
        }

        foreach (var result in results)
        {
            await context.Out.WriteLineAsync(FormatPassage(result.Rank, result.Chunk, result.Score)).ConfigureAwait(false);
        }

        if (json)
        {
            context.WriteJson(new { question = text, passages = results.Select(r => PassageJson(r.Rank, r.Chunk, r.Score)) });
        }

        return CliApp.Success;
    }

    private static Command CreateEvalRetrieval(CliContext context)
    {
        var beir = new Option<DirectoryInfo>("--beir") { Description = "BEIR folder: corpus.jsonl, queries.jsonl, qrels/test.tsv.", Required = true };
        var retrieverName = new Option<string>("--retriever") { Description = "bm25, dense or hybrid (reciprocal-rank fusion of both).", DefaultValueFactory = _ => "bm25" };
        retrieverName.AcceptOnlyFromAmong("bm25", "dense", "hybrid");
        var k = new Option<int>("--k") { Description = "Metric cut-off.", DefaultValueFactory = _ => 10 };
        var cache = new Option<DirectoryInfo?>("--cache") { Description = "Where corpus embeddings are cached (default: the user's local data folder, llmadapt/embeddings)." };
        var fusion = new Option<string>("--fusion") { Description = "How hybrid fuses: weighted (min-max normalised scores, the default) or rrf (reciprocal rank).", DefaultValueFactory = _ => "weighted" };
        fusion.AcceptOnlyFromAmong("rrf", "weighted");
        var rrfK = new Option<double>("--rrf-k") { Description = "The k of reciprocal-rank fusion.", DefaultValueFactory = _ => 60 };
        var weights = new Option<string>("--weights") { Description = "Hybrid weights of keyword and dense, comma-separated.", DefaultValueFactory = _ => "1,1" };
        var precision = new Option<EmbeddingPrecision>("--precision") { Description = "Arithmetic of the dense embeddings: Float32 (default) or Int8 (the model quantized once and cached).", DefaultValueFactory = _ => EmbeddingPrecision.Float32 };
        var postgres = PostgresCli.ConnectionOption();
        var table = PostgresCli.TableOption("llmadapt_beir");
        var exact = new Option<bool>("--exact") { Description = "With --postgres: exact dense search (the HNSW index switched off for each query)." };
        var json = CliContext.JsonOption();
        var command = new Command("retrieval", "Evaluate a retriever on a BEIR test collection: nDCG, recall, MRR, MAP and P at k, build time, queries per second.")
        {
            beir, retrieverName, k, cache, fusion, rrfK, weights, precision, postgres, table, exact, json,
        };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var cutoff = parse.GetValue(k);
            if (cutoff <= 0)
            {
                throw new CliUsageException($"--k must be at least 1 (got {cutoff}).");
            }

            var name = parse.GetRequiredValue(retrieverName);
            var dataset = await BeirDataset.LoadAsync(parse.GetRequiredValue(beir).FullName, cancellationToken: cancellationToken).ConfigureAwait(false);
            var build = Stopwatch.StartNew();
            using var index = new DocumentIndex();
            var chunks = dataset.ToChunks();
            var arithmetic = parse.GetValue(precision);
            var connection = PostgresCli.ConnectionString(parse, postgres);

            // PostgreSQL's table always gets the embeddings (cached), so one table serves every retriever.
            using var generator = name == "bm25" && connection is null ? null : CreateGenerator(null, arithmetic);
            PostgresDocumentStore? store = null;
            if (generator is null)
            {
                await DocumentIndexer.AddAsync(index, chunks, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                // int8 vectors differ from fp32 ones, so they are cached under their own key.
                var modelId = generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId ?? "default";
                if (arithmetic == EmbeddingPrecision.Int8)
                {
                    modelId += $"+int8-v{OnnxEmbeddingGenerator.Int8QuantizerVersion}";
                }

                float[][] vectors = [];
                await ProgressBar.RunAsync(context, "embedding the corpus (cached after the first run)", chunks.Count, async progress =>
                    vectors = await EmbeddingCache.GetOrCreateAsync(
                        generator,
                        modelId,
                        [.. chunks.Select(DocumentIndexer.TextForEmbedding)],
                        parse.GetValue(cache)?.FullName ?? EmbeddingCache.DefaultDirectory,
                        progress,
                        cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
                if (connection is not null)
                {
                    build.Restart();
                    store = await PostgresCli.OpenAsync(connection, parse.GetRequiredValue(table), generator, parse.GetValue(exact), cancellationToken).ConfigureAwait(false);
                    var embedded = vectors;
                    await ProgressBar.RunAsync(context, "writing to PostgreSQL", chunks.Count, progress => store.UpsertAsync(chunks, [.. embedded.Select(v => new ReadOnlyMemory<float>(v))], progress, cancellationToken)).ConfigureAwait(false);
                }
                else
                {
                    for (var i = 0; i < chunks.Count; i++)
                    {
                        index.Upsert(chunks[i], vectors[i]);
                    }
                }
            }

            await using var disposeStore = store;
            build.Stop();
            var hybrid = new HybridOptions
            {
                Method = parse.GetRequiredValue(fusion) == "weighted" ? FusionMethod.WeightedScore : FusionMethod.ReciprocalRank,
                RrfK = parse.GetValue(rrfK),
                Weights = ParseWeights(parse.GetRequiredValue(weights)),
            };
            var retriever = store is null
                ? CreateRetriever(index, generator, name, hybrid)
                : PostgresRetrievalServiceCollectionExtensions.CreateRetriever(store, name == "bm25" ? "keyword" : name, generator, hybrid: hybrid);
            var result = await RetrievalEvaluator.EvaluateAsync(retriever, dataset, cutoff, cancellationToken: cancellationToken).ConfigureAwait(false);
            var backend = store is null ? "in-process" : $"{PostgresCli.Describe(store.Options.Table)} (pgvector {store.PgvectorVersion}; dense {(parse.GetValue(exact) ? "exact" : "hnsw")}, keyword postgres-fulltext)";
            var lines = new[]
            {
                $"backend        {backend}",
                $"retriever      {name}",
                $"embeddings     {(generator is null ? "-" : arithmetic.ToString())}",
                $"queries        {result.QueryCount}",
                $"ndcg@{cutoff,-9} {result.Ndcg:F4}",
                $"recall@{cutoff,-7} {result.Recall:F4}",
                $"mrr@{cutoff,-10} {result.Mrr:F4}",
                $"map@{cutoff,-10} {result.Map:F4}",
                $"p@{cutoff,-12} {result.Precision:F4}",
                $"build_seconds  {build.Elapsed.TotalSeconds:F2}",
                $"queries_per_s  {result.QueriesPerSecond:F0}",
            };
            foreach (var line in lines)
            {
                await context.Out.WriteLineAsync(line.ToString(CultureInfo.InvariantCulture)).ConfigureAwait(false);
            }

            if (parse.GetValue(json))
            {
                context.WriteJson(new
                {
                    retriever = name,
                    backend = store is null ? "in-process" : "postgres",
                    postgres_dense = store is null ? null : parse.GetValue(exact) ? "exact" : "hnsw",
                    embedding_precision = generator is null ? null : arithmetic.ToString(),
                    k = cutoff,
                    queries = result.QueryCount,
                    ndcg = result.Ndcg,
                    recall = result.Recall,
                    mrr = result.Mrr,
                    map = result.Map,
                    precision = result.Precision,
                    build_seconds = build.Elapsed.TotalSeconds,
                    queries_per_second = result.QueriesPerSecond,
                });
            }

            return CliApp.Success;
        }));
        return command;
    }

    private static async Task<int> AnswerAsync(CliContext context, IRetriever retriever, string question, Principal? principal, int topK, Uri endpoint, string model, bool json, CancellationToken cancellationToken)
    {
        var key = Environment.GetEnvironmentVariable("LLMADAPT_API_KEY") ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "unused";
        using var chat = new OpenAI.Chat.ChatClient(model, new System.ClientModel.ApiKeyCredential(key), new OpenAI.OpenAIClientOptions { Endpoint = endpoint }).AsIChatClient();
        var strategy = new RetrievalAugmentedPromptStrategy(retriever, new ContextPacker(TokenCounter.ForModel("gpt-4o")), new RetrievalAugmentedOptions { TopK = topK });
        var inputs = new Dictionary<string, object?> { [RetrievalAugmentedPromptStrategy.PrincipalKey] = principal };
        var result = await strategy.ExecuteAsync(chat, new PromptRequest { Task = question, Inputs = inputs }, cancellationToken).ConfigureAwait(false);
        var cited = (IReadOnlyList<PackedPassage>)result.AdditionalProperties![RetrievalAugmentedPromptStrategy.CitationsKey]!;
        await context.Out.WriteLineAsync(result.Text.Trim()).ConfigureAwait(false);
        await context.Out.WriteLineAsync().ConfigureAwait(false);
        foreach (var passage in cited)
        {
            await context.Out.WriteLineAsync($"[{passage.Number}] {Describe(passage.Retrieved.Chunk)}").ConfigureAwait(false);
        }

        if (json)
        {
            context.WriteJson(new { question, answer = result.Text, citations = cited.Select(p => PassageJson(p.Number, p.Retrieved.Chunk, p.Retrieved.Score)) });
        }

        return CliApp.Success;
    }

    private static IRetriever CreateRetriever(DocumentIndex index, IEmbeddingGenerator<string, Embedding<float>>? generator, string name, HybridOptions? hybrid = null)
    {
        var keyword = new KeywordRetriever(index);
        return name switch
        {
            "bm25" => keyword,
            "dense" => new DenseRetriever(index, generator!),
            _ => new HybridRetriever([keyword, new DenseRetriever(index, generator!)], hybrid ?? DefaultHybrid),
        };
    }

    // The tool's hybrid default: an equal-weight convex combination of min-max normalised scores, which the
    // fusion literature (Bruch et al., "An Analysis of Fusion Functions for Hybrid Retrieval") finds stronger than
    // reciprocal-rank fusion in and out of domain; the library's HybridRetriever keeps RRF (k = 60) as its default.
    private static HybridOptions DefaultHybrid => new() { Method = FusionMethod.WeightedScore };

    private static double[] ParseWeights(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var weights = new double[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out weights[i]) || weights[i] < 0)
            {
                throw new CliUsageException($"--weights takes two non-negative numbers, keyword then dense (got '{text}').");
            }
        }

        return parts.Length == 2 ? weights : throw new CliUsageException($"--weights takes two numbers, keyword then dense (got {parts.Length}).");
    }

    private static OnnxEmbeddingGenerator CreateGenerator(string? modelId, EmbeddingPrecision precision = EmbeddingPrecision.Float32)
    {
        var generator = OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Precision = precision });
        var actual = generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId;
        if (modelId is not null && actual is not null && !string.Equals(modelId, actual, StringComparison.Ordinal))
        {
            generator.Dispose();
            throw new LlmAdaptException($"The index was embedded with '{modelId}' but this tool embeds queries with '{actual}': rebuild the index.");
        }

        return generator;
    }

    private static async Task<(DocumentIndex Index, int Files, int Skipped)> BuildAsync(CliContext context, string folder, BuildSettings settings, CancellationToken cancellationToken)
    {
        var (chunks, files, skipped) = await ReadChunksAsync(context, folder, settings, cancellationToken).ConfigureAwait(false);
        using var generator = settings.Embeddings == "default" ? CreateGenerator(null) : null;
        var index = new DocumentIndex(new DocumentIndexOptions
        {
            EmbeddingModelId = generator?.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId,
        });
        await ProgressBar.RunAsync(
            context,
            generator is null ? "indexing" : "embedding and indexing",
            chunks.Count,
            progress => DocumentIndexer.AddAsync(index, chunks, generator, progress: progress, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return (index, files, skipped);
    }

    private static async Task<(List<DocumentChunk> Chunks, int Files, int Skipped)> ReadChunksAsync(CliContext context, string folder, BuildSettings settings, CancellationToken cancellationToken)
    {
        if (settings.Embeddings is not ("default" or "none"))
        {
            throw new CliUsageException($"--embeddings must be 'default' or 'none' (got '{settings.Embeddings}').");
        }

        var options = new ChunkerOptions { MaxTokens = settings.MaxTokens, OverlapTokens = settings.Overlap };
        var counter = TokenCounter.ForModel("gpt-4o");
        IChunker markdown = new MarkdownChunker(counter, options);
        IChunker plain = new RecursiveChunker(counter, options);
        var (documents, skipped) = await DocumentFolder.ReadAsync(folder, cancellationToken).ConfigureAwait(false);
        foreach (var (path, reason) in skipped)
        {
            await context.Error.WriteLineAsync($"warning: skipped {path}: {reason}").ConfigureAwait(false);
        }

        if (documents.Count == 0)
        {
            throw new LlmAdaptException($"{folder}: no readable Markdown or text file with content ({skipped.Count} skipped).");
        }

        var allowed = settings.Allow.Length > 0 ? settings.Allow : null;
        var chunks = documents
            .Select(d => d with { AllowedPrincipals = allowed })
            .SelectMany(d => (DocumentFolder.IsMarkdown(d.Id) ? markdown : plain).Chunk(d))
            .ToList();
        return (chunks, documents.Count, skipped.Count);
    }

    private static async Task<DocumentIndex> LoadOrBuildCachedAsync(CliContext context, string folder, BuildSettings settings, CancellationToken cancellationToken)
    {
        var fingerprint = Fingerprint(folder, settings);
        var cacheDir = Path.Combine(folder, CacheFolder);
        var indexPath = Path.Combine(cacheDir, "index.llmidx");
        var stampPath = Path.Combine(cacheDir, "index.fingerprint");
        if (File.Exists(indexPath) && File.Exists(stampPath) && (await File.ReadAllTextAsync(stampPath, cancellationToken).ConfigureAwait(false)).Trim() == fingerprint)
        {
            try
            {
                return await DocumentIndexFile.LoadAsync(indexPath, cancellationToken).ConfigureAwait(false);
            }
            catch (ModelLoadException ex)
            {
                await context.Error.WriteLineAsync($"warning: rebuilding the cached index: {ex.Message}").ConfigureAwait(false);
            }
        }

        await context.Error.WriteLineAsync($"building the index of {folder} (cached in {cacheDir})").ConfigureAwait(false);
        var (index, _, _) = await BuildAsync(context, folder, settings, cancellationToken).ConfigureAwait(false);
        await DocumentIndexFile.SaveAsync(index, indexPath, cancellationToken).ConfigureAwait(false);
        var temp = stampPath + ".tmp";
        await File.WriteAllTextAsync(temp, fingerprint, cancellationToken).ConfigureAwait(false);
        File.Move(temp, stampPath, overwrite: true);
        return index;
    }

    private static string Fingerprint(string folder, BuildSettings settings)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"v{DocumentIndexFile.FormatVersion}|{settings.Embeddings}|{settings.MaxTokens}|{settings.Overlap}\n");
        foreach (var file in DocumentFolder.ListFiles(folder))
        {
            var info = new FileInfo(file);
            text.Append(CultureInfo.InvariantCulture, $"{Path.GetRelativePath(folder, file)}|{info.Length}|{info.LastWriteTimeUtc.Ticks}\n");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static string Describe(DocumentChunk chunk)
    {
        var heading = chunk.Metadata.TryGetValue(MarkdownChunker.HeadingPathKey, out var path) ? $" › {path}" : string.Empty;
        return string.Create(CultureInfo.InvariantCulture, $"{chunk.Source ?? chunk.DocumentId}{heading} (characters {chunk.StartOffset}–{chunk.EndOffset})");
    }

    private static string FormatPassage(int number, DocumentChunk chunk, double score)
    {
        var text = string.Join(' ', chunk.Text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        if (text.Length > 400)
        {
            text = text[..400] + " …";
        }

        return string.Create(CultureInfo.InvariantCulture, $"[{number}] {Describe(chunk)} score {score:F4}\n    {text}\n");
    }

    private static object PassageJson(int number, DocumentChunk chunk, double score) => new
    {
        number,
        source = chunk.Source ?? chunk.DocumentId,
        heading = chunk.Metadata.GetValueOrDefault(MarkdownChunker.HeadingPathKey),
        start = chunk.StartOffset,
        end = chunk.EndOffset,
        score,
        text = chunk.Text,
    };

    private sealed record BuildSettings(string Embeddings, int MaxTokens, int Overlap, string[] Allow);
}
