using System.Net;
using System.Text.Json;
using LlmAdapt.Onnx.Tests.Embeddings;
using Microsoft.Extensions.AI;
using OpenAI.Embeddings;

namespace LlmAdapt.Hosting.Tests;

public sealed class EmbeddingsAndModelsTests(ServedModelsFixture fixture) : IClassFixture<ServedModelsFixture>
{
    // The first five sentences of SST-2's dev split (shared/data/classification/sst2/dev.tsv), in file order.
    private static readonly string[] s_sentences = [.. EmbeddingTestData.Sst2Sentences("dev").Take(5)];

    [Fact]
    public async Task Sdk_Embeddings_EqualTheInProcessVectors()
    {
        var expected = await fixture.Embeddings.GenerateAsync(s_sentences);
        var client = fixture.Server.OpenAIClient(ServedModelsFixture.ApiKey).GetEmbeddingClient("minilm");

        // OpenAI's SDK asks for base64 unless told otherwise.
        OpenAIEmbeddingCollection served = await client.GenerateEmbeddingsAsync(s_sentences);

        Assert.Equal(s_sentences.Length, served.Count);
        for (var i = 0; i < s_sentences.Length; i++)
        {
            Assert.Equal(i, served[i].Index);
            Assert.Equal(expected[i].Vector.ToArray(), served[i].ToFloats().ToArray());
        }

        Assert.Equal(expected.Usage!.InputTokenCount, served.Usage.InputTokenCount);
    }

    [Fact]
    public async Task ExtensionsAIGenerator_AndFloatEncoding_EqualTheInProcessVectors()
    {
        using var remote = fixture.Server.OpenAIClient(ServedModelsFixture.ApiKey).GetEmbeddingClient("minilm").AsIEmbeddingGenerator();
        var expected = await fixture.Embeddings.GenerateAsync(s_sentences[..2]);

        var served = await remote.GenerateAsync(s_sentences[..2]);

        Assert.Equal(expected[1].Vector.ToArray(), served[1].Vector.ToArray());

        using var http = fixture.Server.HttpClient(ServedModelsFixture.ApiKey);
        using var response = await http.PostAsync("embeddings", ChatCompletionsTests.Json(JsonSerializer.Serialize(new { model = "minilm", input = s_sentences[0], encoding_format = "float" })));
        var vector = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(expected[0].Vector.ToArray(), vector);
    }

    [Fact]
    public async Task Models_ListsEveryServedModel()
    {
        var models = fixture.Server.OpenAIClient(ServedModelsFixture.ApiKey).GetOpenAIModelClient();

        var list = (await models.GetModelsAsync()).Value;
        var one = (await models.GetModelAsync("minilm")).Value;

        Assert.Equal(["gpt2", "minilm"], list.Select(m => m.Id).Order());
        Assert.Equal("minilm", one.Id);
        Assert.Equal("llmadapt", one.OwnedBy);
        var missing = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => models.GetModelAsync("nope"));
        Assert.Equal(404, missing.Status);
    }

    [Theory]
    [InlineData("""{"model":"minilm","input":[[1,2,3]]}""", "input")]
    [InlineData("""{"model":"minilm","input":[]}""", "input")]
    [InlineData("""{"model":"minilm","input":"x","dimensions":64}""", "dimensions")]
    [InlineData("""{"model":"minilm","input":"x","encoding_format":"int8"}""", "encoding_format")]
    public async Task Embeddings_BadRequests_Get400NamingTheField(string body, string param)
    {
        using var http = fixture.Server.HttpClient(ServedModelsFixture.ApiKey);
        using var response = await http.PostAsync("embeddings", ChatCompletionsTests.Json(body));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("param").GetString());
    }
}
