using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using LlmAdapt.Cli.Retrieval;
using LlmAdapt.Embeddings;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.PostgreSql;
using LlmAdapt.Prompting;
using LlmAdapt.Retrieval;
using LlmAdapt.Retrieval.Chunking;
using LlmAdapt.Retrieval.Composition;
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
    /// <summary>Adds the verbs to <paramref name="root"/> (joining an <c>eval</c> group another verb set may have made).</summary>
    public static void AddTo(Command root, CliContext context)
    {
        root.Subcommands.Add(new Command("index", "Build retrieval indexes from documents.") { CreateIndexBuild(context) });
        root.Subcommands.Add(CreateAsk(context));
        CommandGroups.Eval(root).Subcommands.Add(CreateEvalRetrieval(context));
    }

    private static Option<string> EmbeddingsOption()
    {
        var option = new Option<string>("--embeddings")
        {
            Description = "Embedding model for dense search: 'default' (built-in all-MiniLM-L6-v2, offline) or 'none' (keyword search only; with --index, an index that holds vectors is still searched densely).",
            DefaultValueFactory = _ => "default",
        };
        option.AcceptOnlyFromAmong("default", "none");
        return option;
    }

    private static Option<string?> TokenizerOption(string fallback) => new("--tokenizer")
    {
        Description = $"Whose tokenizer measures chunks and packed context: a model folder with tokenizer.json, or a model or encoding name (gpt-4o, gpt-4, gpt2, o200k_base, cl100k_base). Default: {fallback}.",
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
        var tokenizer = TokenizerOption($"{TokenCounter.DefaultModel} (o200k), for chunks packed into an OpenAI-family model's prompt");
        var json = CliContext.JsonOption();
        var command = new Command("build", "Chunk a folder of documents, embed them and save a BM25 + vector index to one file.") { docs, output, postgres, table, embeddings, maxTokens, overlap, allow, tokenizer, json };
        command.SetAction((parse, cancellationToken) => context.RunAsync(async () =>
        {
            var counter = TokenCounter.ForModelOrFolder(parse.GetValue(tokenizer) ?? TokenCounter.DefaultModel);
            var options = new FolderIndexOptions { MaxTokens = parse.GetValue(maxTokens), OverlapTokens = parse.GetValue(overlap), AllowedPrincipals = parse.GetValue(allow), TokenCounter = counter };
            var connection = PostgresCli.ConnectionString(parse, postgres);
            if ((connection is null) == (parse.GetValue(output) is null))
            {
                throw new CliUsageException("Give exactly one of --out FILE or --postgres [CONNECTION].");
            }

            var folder = parse.GetRequiredValue(docs).FullName;
            var watch = Stopwatch.StartNew();
            using var generator = CreateGenerator(parse.GetRequiredValue(embeddings));
            if (connection is not null)
            {
                var read = await FolderIndexer.ReadChunksAsync(folder, options, cancellationToken).ConfigureAwait(false);
                await WarnSkippedAsync(context, read.Skipped).ConfigureAwait(false);
                var tableName = parse.GetRequiredValue(table);
                await using var store = await PostgresCli.OpenAsync(connection, tableName, generator, exact: false, cancellationToken).ConfigureAwait(false);
                await ProgressBar.RunAsync(context, generator is null ? "writing" : "embedding and writing", read.Chunks.Count, progress => store.AddAsync(read.Chunks, generator, progress, cancellationToken)).ConfigureAwait(false);
                var total = await store.CountAsync(cancellationToken).ConfigureAwait(false);
                await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"indexed {read.Chunks.Count} chunks from {read.Files} files ({read.Skipped.Count} skipped) into {PostgresCli.Describe(tableName)} ({total} chunks in all) in {watch.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    context.WriteJson(new { table = tableName, chunks = read.Chunks.Count, files = read.Files, skipped = read.Skipped.Count, dimensions = store.Dimensions, tokenizer = counter.Name, seconds = watch.Elapsed.TotalSeconds });
                }

                return CliApp.Success;
            }

            var built = await ProgressBar.RunAsync(context, generator is null ? "indexing" : "embedding and indexing", progress => FolderIndexer.BuildAsync(folder, generator, options, progress, cancellationToken)).ConfigureAwait(false);
            using (var index = built.Index)
            {
                await WarnSkippedAsync(context, built.Skipped).ConfigureAwait(false);
                var path = parse.GetValue(output)!.FullName;
                await DocumentIndexFile.SaveAsync(index, path, cancellationToken).ConfigureAwait(false);
                await context.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"indexed {index.Count} chunks from {built.Files} files ({built.Skipped.Count} skipped) into {path} in {watch.Elapsed.TotalSeconds:F1} s")).ConfigureAwait(false);
                if (parse.GetValue(json))
                {
                    context.WriteJson(new { index = path, chunks = index.Count, files = built.Files, skipped = built.Skipped.Count, dimensions = index.Dimensions, tokenizer = counter.Name, seconds = watch.Elapsed.TotalSeconds });
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
        var tokenizer = TokenizerOption($"--model's when one is known for it, otherwise {TokenCounter.DefaultModel} (o200k)");
        var postgres = PostgresCli.ConnectionOption();
        var table = PostgresCli.TableOption("llmadapt_chunks");
        var json = CliContext.JsonOption();
        var command = new Command("ask", "Answer a question from documents: the top passages with citations, or with --endpoint a cited answer.")
        {
            question, indexFile, docs, postgres, table, embeddings, k, principal, groups, endpoint, model, tokenizer, json,
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
            var counter = await ResolveTokenizerAsync(context, parse.GetValue(tokenizer), parse.GetValue(model)).ConfigureAwait(false);
            if (connection is not null)
            {
                using var queryModel = CreateGenerator(parse.GetRequiredValue(embeddings));
                await using var store = await PostgresCli.OpenAsync(connection, parse.GetRequiredValue(table), queryModel, exact: false, cancellationToken).ConfigureAwait(false);
                var fromPostgres = PostgresRetrievalServiceCollectionExtensions.CreateRetriever(store, null, queryModel);
                return await ShowAsync(context, fromPostgres, text, who, topK, parse.GetValue(endpoint), parse.GetValue(model), counter, parse.GetValue(json), keywordOnly: queryModel is null, cancellationToken).ConfigureAwait(false);
            }

            DocumentIndex index;
            OnnxEmbeddingGenerator? generator;
            if (file is not null)
            {
                index = await DocumentIndexFile.LoadAsync(file.FullName, cancellationToken).ConfigureAwait(false);
                generator = index.Dimensions is null ? null : CreateGenerator("default");
            }
            else
            {
                generator = CreateGenerator(parse.GetRequiredValue(embeddings));
                var cache = Path.Combine(folder!.FullName, FolderIndexer.DefaultCacheFolderName);
                var loaded = await ProgressBar.RunAsync(context, generator is null ? "indexing" : "embedding and indexing", progress => FolderIndexer.LoadOrBuildAsync(folder.FullName, generator, new FolderIndexOptions { TokenCounter = counter }, cache, progress: progress, cancellationToken: cancellationToken)).ConfigureAwait(false);
                index = loaded.Index;
                if (!loaded.FromCache)
                {
                    await WarnSkippedAsync(context, loaded.Skipped).ConfigureAwait(false);
                    await context.Error.WriteLineAsync($"built the index of {folder.FullName} (cached in {cache})").ConfigureAwait(false);
                }
            }

            using (index)
            using (generator)
            {
                var retriever = RetrieverFactory.Create(index, null, generator);
                return await ShowAsync(context, retriever, text, who, topK, parse.GetValue(endpoint), parse.GetValue(model), counter, parse.GetValue(json), keywordOnly: generator is null, cancellationToken).ConfigureAwait(false);
            }
        }));
        return command;
    }

    // Prints the top passages, or with an endpoint a cited answer.
    private static async Task<int> ShowAsync(CliContext context, IRetriever retriever, string text, Principal? who, int topK, Uri? endpoint, string? model, TokenCounter counter, bool json, bool keywordOnly, CancellationToken cancellationToken)
    {
        if (endpoint is not null)
        {
            return await AnswerAsync(context, retriever, text, who, topK, endpoint, model!, counter, json, cancellationToken).ConfigureAwait(false);
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
        var retrieverName = new Option<string>("--retriever") { Description = "keyword (BM25; bm25 is the same), dense or hybrid (both fused as --fusion says).", DefaultValueFactory = _ => RetrieverFactory.Keyword };
        retrieverName.AcceptOnlyFromAmong([.. RetrieverFactory.Names, "bm25"]);
        var k = new Option<int>("--k") { Description = "Metric cut-off.", DefaultValueFactory = _ => 10 };
        var cache = new Option<DirectoryInfo?>("--cache") { Description = $"Where corpus embeddings are cached (default: {DiskCachingEmbeddingGenerator.CacheEnvironmentVariable} when set, else LlmAdapt/embeddings in the user's local data folder)." };
        var fusion = new Option<string>("--fusion") { Description = "How hybrid fuses: weighted (min-max normalised scores, the default) or rrf (reciprocal rank).", DefaultValueFactory = _ => RetrieverFactory.DefaultFusion == FusionMethod.WeightedScore ? "weighted" : "rrf" };
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

            var name = RetrieverFactory.Normalize(parse.GetRequiredValue(retrieverName));
            var dataset = await BeirDataset.LoadAsync(parse.GetRequiredValue(beir).FullName, cancellationToken: cancellationToken).ConfigureAwait(false);
            var build = Stopwatch.StartNew();
            using var index = new DocumentIndex();
            var chunks = dataset.ToChunks();
            var arithmetic = parse.GetValue(precision);
            var connection = PostgresCli.ConnectionString(parse, postgres);

            // PostgreSQL's table always gets the embeddings (cached), so one table serves every retriever.
            using var generator = name == RetrieverFactory.Keyword && connection is null ? null : OnnxEmbeddingGenerator.CreateDefault(new OnnxEmbeddingOptions { Precision = arithmetic });

            // The corpus is embedded through the disk cache; int8 vectors differ from fp32 ones, so they are cached
            // under their own key. Queries are embedded by the model itself (what queries_per_s measures).
            using var cached = generator?.AsBuilder()
                .UseDiskCache(parse.GetValue(cache)?.FullName, generator.GetService<EmbeddingGeneratorMetadata>()?.DefaultModelId + (arithmetic == EmbeddingPrecision.Int8 ? $"+int8-v{OnnxEmbeddingGenerator.Int8QuantizerVersion}" : string.Empty))
                .Build();
            PostgresDocumentStore? store = null;
            if (connection is null)
            {
                await ProgressBar.RunAsync(context, cached is null ? "indexing" : "embedding the corpus (cached after the first run)", chunks.Count, progress => DocumentIndexer.AddAsync(index, chunks, cached, progress: progress, cancellationToken: cancellationToken)).ConfigureAwait(false);
            }
            else
            {
                IReadOnlyList<ReadOnlyMemory<float>> vectors = [];
                await ProgressBar.RunAsync(context, "embedding the corpus (cached after the first run)", chunks.Count, async progress =>
                    vectors = await DocumentIndexer.EmbedAsync(chunks, cached!, progress: progress, cancellationToken: cancellationToken).ConfigureAwait(false)).ConfigureAwait(false);
                build.Restart();
                store = await PostgresCli.OpenAsync(connection, parse.GetRequiredValue(table), generator, parse.GetValue(exact), cancellationToken).ConfigureAwait(false);
                await ProgressBar.RunAsync(context, "writing to PostgreSQL", chunks.Count, progress => store.UpsertAsync(chunks, vectors, progress, cancellationToken)).ConfigureAwait(false);
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
                ? RetrieverFactory.Create(index, name, generator, hybrid: hybrid)
                : PostgresRetrievalServiceCollectionExtensions.CreateRetriever(store, name, generator, hybrid: hybrid);
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

    private static async Task<int> AnswerAsync(CliContext context, IRetriever retriever, string question, Principal? principal, int topK, Uri endpoint, string model, TokenCounter counter, bool json, CancellationToken cancellationToken)
    {
        var key = Environment.GetEnvironmentVariable("LLMADAPT_API_KEY") ?? Environment.GetEnvironmentVariable("OPENAI_API_KEY") ?? "unused";
        using var chat = new OpenAI.Chat.ChatClient(model, new System.ClientModel.ApiKeyCredential(key), new OpenAI.OpenAIClientOptions { Endpoint = endpoint }).AsIChatClient();
        var strategy = new RetrievalAugmentedPromptStrategy(retriever, new ContextPacker(counter), new RetrievalAugmentedOptions { TopK = topK });
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

    // --embeddings: 'default' is the built-in model, 'none' keyword search only.
    private static OnnxEmbeddingGenerator? CreateGenerator(string embeddings) =>
        embeddings == "none" ? null : OnnxEmbeddingGenerator.CreateDefault();

    // --tokenizer when given; else the chat model's tokenizer when one is known for its name; else the documented default.
    private static async Task<TokenCounter> ResolveTokenizerAsync(CliContext context, string? tokenizer, string? model)
    {
        if (tokenizer is not null)
        {
            return TokenCounter.ForModelOrFolder(tokenizer);
        }

        if (model is null)
        {
            return TokenCounter.ForModel(TokenCounter.DefaultModel);
        }

        if (TokenCounter.TryForModel(model, out var counter))
        {
            return counter;
        }

        await context.Error.WriteLineAsync($"note: no tokenizer is known for --model '{model}'; counting tokens with {TokenCounter.DefaultModel}'s (o200k). Give --tokenizer FOLDER (the model's tokenizer.json) to count exactly.").ConfigureAwait(false);
        return TokenCounter.ForModel(TokenCounter.DefaultModel);
    }

    private static async Task WarnSkippedAsync(CliContext context, IReadOnlyList<(string Path, string Reason)> skipped)
    {
        foreach (var (path, reason) in skipped)
        {
            await context.Error.WriteLineAsync($"warning: skipped {path}: {reason}").ConfigureAwait(false);
        }
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
}
