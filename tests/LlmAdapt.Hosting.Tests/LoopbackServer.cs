using System.ClientModel;
using LlmAdapt.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenAI;

namespace LlmAdapt.Hosting.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 with a port the OS picks, serving <c>MapLlmAdaptOpenAI</c>.</summary>
internal sealed class LoopbackServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private LoopbackServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>Gets the address of the <c>/v1</c> API, as OpenAI's SDKs take it.</summary>
    public Uri BaseAddress { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Gets how many requests hold a concurrency slot now.</summary>
    public long BusySlots => _app.Services.GetRequiredService<OpenAIServer>().BusySlots;

    public static async Task<LoopbackServer> StartAsync(Action<IServiceCollection> services, Action<OpenAIServerOptions> options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        services(builder.Services);
        builder.Services.AddLlmAdapt().AddOpenAIServer(options);
        var app = builder.Build();
        app.MapLlmAdaptOpenAI();
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new LoopbackServer(app, new Uri(address.TrimEnd('/') + "/v1/"));
    }

    public OpenAIClient OpenAIClient(string apiKey) => new(new ApiKeyCredential(apiKey), new OpenAIClientOptions { Endpoint = BaseAddress, NetworkTimeout = TimeSpan.FromMinutes(2) });

    public HttpClient HttpClient(string? apiKey)
    {
        var http = new HttpClient { BaseAddress = BaseAddress };
        if (apiKey is not null)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }

        return http;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
