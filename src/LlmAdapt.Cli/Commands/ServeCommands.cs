using System.CommandLine;
using System.Globalization;
using LlmAdapt.Formats;
using LlmAdapt.Onnx.Embeddings;
using LlmAdapt.Onnx.Generation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmAdapt.Cli.Commands;

/// <summary>
/// <c>llmadapt serve</c>: a local decoder (and optionally a sentence encoder) behind OpenAI's HTTP API, for any
/// OpenAI SDK or tool pointed at <c>--urls</c> + <c>/v1</c>.
/// </summary>
internal static class ServeCommands
{
    /// <summary>The value of <c>--embeddings</c> that picks the built-in all-MiniLM-L6-v2.</summary>
    public const string BuiltInEmbeddings = "minilm";

    public static Command Create(CliContext context)
    {
        var model = new Option<DirectoryInfo>("--model", "-m") { Description = "The chat model: an ONNX decoder folder (ONNX Runtime GenAI, Hugging Face Optimum, or written by 'llmadapt export').", Required = true };
        var name = new Option<string?>("--name") { Description = "The model name clients send as 'model'. Default: the folder's name." };
        var template = new Option<ChatTemplate>("--template") { Description = "How a conversation is written for the model: ChatML (default), Llama3, Phi3, Zephyr or Plain.", DefaultValueFactory = _ => ChatTemplate.ChatML };
        var adapters = new Option<string[]>("--adapter") { Description = "A LoRA adapter served as model 'NAME:ADAPTER': ADAPTER=FILE, an .onnx_adapter file from 'llmadapt export adapter' (repeatable; the model must be exported with --keep-lora-separate).", AllowMultipleArgumentsPerToken = false };
        var embeddings = new Option<string?>("--embeddings") { Description = $"Also serve /v1/embeddings: '{BuiltInEmbeddings}' for the built-in all-MiniLM-L6-v2, or a sentence-transformers ONNX folder." };
        var urls = new Option<string>("--urls") { Description = "Where to listen, ';'-separated (http://host:port). Default: http://127.0.0.1:8000.", DefaultValueFactory = _ => "http://127.0.0.1:8000" };
        var apiKeyEnv = new Option<string?>("--api-key-env") { Description = "Name of an environment variable holding the API key clients must send (Authorization: Bearer). Default: no key." };
        var maxConcurrency = new Option<int>("--max-concurrency") { Description = "Requests generating at once; more wait in a queue of 4× this, beyond which clients get 429. Default: 8.", DefaultValueFactory = _ => 8 };
        var maxBatch = new Option<int>("--max-batch") { Description = "Continuous batching: up to this many requests (per adapter) share each decode step, joining and leaving between steps; 0 decodes each request on its own. Default: 8.", DefaultValueFactory = _ => 8 };
        var maxTokens = new Option<int>("--max-tokens") { Description = "The most tokens one request may ask for. Default: 4096.", DefaultValueFactory = _ => 4096 };
        var defaultTokens = new Option<int>("--default-tokens") { Description = "Tokens generated when a request gives no max_tokens. Default: 256.", DefaultValueFactory = _ => 256 };
        var threads = new Option<int?>("--threads") { Description = "ONNX Runtime threads per decode step (default as 'generate')." };

        var command = new Command("serve", "Serve a local model over OpenAI's HTTP API: /v1/chat/completions (with streaming), /v1/embeddings, /v1/models.")
        {
            model, name, template, adapters, embeddings, urls, apiKeyEnv, maxConcurrency, maxBatch, maxTokens, defaultTokens, threads,
        };
        command.SetAction((parseResult, cancellationToken) => context.RunAsync(async () =>
        {
            var settings = new ServeSettings(
                parseResult.GetRequiredValue(model).FullName,
                parseResult.GetValue(name),
                parseResult.GetValue(template),
                parseResult.GetValue(adapters) ?? [],
                parseResult.GetValue(embeddings),
                parseResult.GetRequiredValue(urls),
                parseResult.GetValue(apiKeyEnv),
                parseResult.GetValue(maxConcurrency),
                parseResult.GetValue(maxBatch),
                parseResult.GetValue(maxTokens),
                parseResult.GetValue(defaultTokens),
                parseResult.GetValue(threads));
            await RunAsync(context, settings, cancellationToken).ConfigureAwait(false);
            return CliApp.Success;
        }));
        return command;
    }

    private static async Task RunAsync(CliContext context, ServeSettings settings, CancellationToken cancellationToken)
    {
        var urls = settings.Check();
        var apiKey = settings.ApiKey();
        var chatName = settings.Name ?? Path.GetFileName(settings.Model.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));

        using var decoder = OnnxDecoderModel.Load(settings.Model, new OnnxDecoderModelOptions { IntraOpThreads = settings.Threads, MaxBatchSize = settings.MaxBatch });
        foreach (var (adapterName, file) in settings.AdapterFiles())
        {
            try
            {
                decoder.LoadAdapter(adapterName, file);
            }
            catch (Exception ex) when (ex is ModelLoadException or ArgumentException)
            {
                throw new CliUsageException($"--adapter {adapterName}={file}: {ex.Message}", ex);
            }
        }

        using var chat = new OnnxChatClient(decoder, new OnnxChatClientOptions { Template = settings.Template, DefaultMaxOutputTokens = settings.DefaultTokens, ModelId = chatName });
        using var encoder = settings.Embeddings is null ? null
            : settings.Embeddings == BuiltInEmbeddings ? OnnxEmbeddingGenerator.CreateDefault()
            : OnnxEmbeddingGenerator.Create(settings.Embeddings);
        var embeddingName = encoder is null ? null : settings.Embeddings == BuiltInEmbeddings ? "all-MiniLM-L6-v2" : Path.GetFileName(settings.Embeddings!.TrimEnd('/', '\\'));
        if (embeddingName == chatName)
        {
            throw new CliUsageException($"--embeddings: its model name '{embeddingName}' is the chat model's too; give the chat model another with --name.");
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(urls);
        builder.Logging.ClearProviders();
        builder.Services.AddKeyedChatClient(chatName, chat);
        foreach (var adapterName in decoder.AdapterNames)
        {
            // The same client and model; the served name picks the adapter through ChatOptions.ModelId.
            var adapted = $"{chatName}:{adapterName}";
            builder.Services.AddKeyedChatClient(adapted, new ChatClientBuilder(chat).ConfigureOptions(o => o.ModelId = adapted).Build());
        }
        if (encoder is not null)
        {
            builder.Services.AddKeyedEmbeddingGenerator<string, Embedding<float>>(embeddingName!, encoder);
        }

        builder.Services.AddLlmAdapt().AddOpenAIServer(o =>
        {
            o.ChatModels.Add(chatName);
            foreach (var adapterName in decoder.AdapterNames)
            {
                o.ChatModels.Add($"{chatName}:{adapterName}");
            }
            if (embeddingName is not null)
            {
                o.EmbeddingModels.Add(embeddingName);
            }

            if (apiKey is not null)
            {
                o.ApiKeys.Add(apiKey);
            }

            o.MaxConcurrentRequests = settings.MaxConcurrency;
            o.MaxQueuedRequests = settings.MaxConcurrency * 4;
            o.MaxOutputTokens = settings.MaxTokens;
        });
        await using var app = builder.Build();
        app.MapLlmAdaptOpenAI();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        var chats = string.Join(", ", new[] { chatName }.Concat(decoder.AdapterNames.Select(a => $"{chatName}:{a}")).Select(n => $"'{n}'"));
        var served = embeddingName is null ? $"{chats} (chat)" : $"{chats} (chat) and '{embeddingName}' (embeddings)";
        await context.Error.WriteLineAsync($"Serving {served}{(apiKey is null ? string.Empty : ", API key required")}. Press Ctrl+C to stop.").ConfigureAwait(false);
        foreach (var address in addresses)
        {
            await context.Error.WriteLineAsync($"Listening on {address.TrimEnd('/')}/v1").ConfigureAwait(false);
        }

        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C: stop taking requests, let those under way finish, and exit successfully.
        }

        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>The command line of <c>serve</c>, checked before anything loads so each problem names its option.</summary>
    private sealed record ServeSettings(string Model, string? Name, ChatTemplate Template, string[] Adapters, string? Embeddings, string Urls, string? ApiKeyEnv, int MaxConcurrency, int MaxBatch, int MaxTokens, int DefaultTokens, int? Threads)
    {
        public string[] Check()
        {
            if (!Directory.Exists(Model))
            {
                throw new CliUsageException($"--model: the folder '{Model}' does not exist.");
            }

            if (ModelFolder.Detect(Model) is ModelFolderKind.Checkpoint or ModelFolderKind.PeftAdapter)
            {
                throw new CliUsageException($"--model: '{Model}' is a checkpoint or LoRA adapter of the training engine; serve takes an ONNX decoder folder: write one with 'llmadapt export onnx --model {Model} --out DIR', then serve DIR.");
            }

            if (Name is not null && string.IsNullOrWhiteSpace(Name))
            {
                throw new CliUsageException("--name: give a non-empty model name.");
            }

            if (Embeddings is not null && Embeddings != BuiltInEmbeddings && !Directory.Exists(Embeddings))
            {
                throw new CliUsageException($"--embeddings: '{Embeddings}' is neither '{BuiltInEmbeddings}' nor an existing folder.");
            }

            _ = AdapterFiles().ToList();
            Range("--max-concurrency", MaxConcurrency, 1, 4096);
            Range("--max-batch", MaxBatch, 0, 1024);
            Range("--max-tokens", MaxTokens, 1, 1_000_000);
            Range("--default-tokens", DefaultTokens, 1, MaxTokens);
            if (Threads is { } t)
            {
                Range("--threads", t, 0, 1024);
            }

            var urls = Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (urls.Length == 0)
            {
                throw new CliUsageException("--urls: give at least one address such as http://127.0.0.1:8000.");
            }

            foreach (var url in urls)
            {
                // Kestrel's own forms (http://*:8000, http://+:8000) are not URIs; check them with a concrete host.
                var concrete = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
                if (!Uri.TryCreate(concrete, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.AbsolutePath != "/")
                {
                    throw new CliUsageException($"--urls: '{url}' is not an address such as http://127.0.0.1:8000 (scheme http or https, a port from 0 to 65535, no path).");
                }
            }

            return urls;
        }

        public IEnumerable<(string Name, string File)> AdapterFiles()
        {
            foreach (var adapter in Adapters)
            {
                var equals = adapter.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0 || equals == adapter.Length - 1)
                {
                    throw new CliUsageException($"--adapter: '{adapter}' is not NAME=FILE.");
                }

                yield return (adapter[..equals], adapter[(equals + 1)..]);
            }
        }

        public string? ApiKey()
        {
            if (ApiKeyEnv is null)
            {
                return null;
            }

            var key = Environment.GetEnvironmentVariable(ApiKeyEnv);
            return string.IsNullOrWhiteSpace(key)
                ? throw new CliUsageException($"--api-key-env: the environment variable '{ApiKeyEnv}' is not set or empty.")
                : key.Trim();
        }

        private static void Range(string option, int value, int min, int max)
        {
            if (value < min || value > max)
            {
                throw new CliUsageException(string.Create(CultureInfo.InvariantCulture, $"{option} is {value}; it must be from {min} to {max}."));
            }
        }
    }
}
