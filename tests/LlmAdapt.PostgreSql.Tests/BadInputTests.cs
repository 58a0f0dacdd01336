using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;
using LlmAdapt.Retrieval;
using LlmAdapt.Tests.Retrieval;
using Npgsql;

namespace LlmAdapt.PostgreSql.Tests;

[Collection(PgliteCollection.Name)]
public sealed class BadInputTests(PgliteFixture fixture)
{
    [Theory]
    [InlineData("Host=127.0.0.1;Port=not-a-port;Password=hunter2")]
    [InlineData("Server=127.0.0.1;Colour=blue;Password=hunter2")]
    [InlineData("Port=5432;Password=hunter2")]
    public async Task Open_MalformedConnectionString_IsRefusedWithoutEchoingIt(string connectionString)
    {
        var error = await Assert.ThrowsAsync<PostgresRetrievalException>(() => PostgresDocumentStore.OpenAsync(connectionString, new PostgresRetrievalOptions { Dimensions = 8 }));
        Assert.Equal(PostgresProblem.InvalidConnectionString, error.Problem);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_UnreachableServer_RetriesThenFailsWithATypedError()
    {
        int port;
        using (var listener = new TcpListener(IPAddress.Loopback, 0))
        {
            listener.Start();
            port = ((IPEndPoint)listener.LocalEndpoint).Port;
        }

        var options = new PostgresRetrievalOptions { Dimensions = 8, MaxRetryAttempts = 2, RetryDelay = TimeSpan.Zero };
        var error = await Assert.ThrowsAsync<PostgresRetrievalException>(() => PostgresDocumentStore.OpenAsync($"Host=127.0.0.1;Port={port};Username=postgres;Password=hunter2;Timeout=5", options));
        Assert.Equal(PostgresProblem.Unreachable, error.Problem);
        Assert.Contains($"127.0.0.1:{port}", error.Message, StringComparison.Ordinal);
        Assert.Contains("after 3 attempts", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_TableOfAnotherDimension_IsRefused()
    {
        var table = fixture.NewTable("dims");
        await using (var store = await PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, new PostgresRetrievalOptions { Table = table }, new HashingEmbeddingGenerator(64)))
        {
            var wrongChunk = await Assert.ThrowsAsync<PostgresRetrievalException>(() => store.UpsertAsync([new DocumentChunk { Id = "a", DocumentId = "a", Text = "wing" }], [new float[32]]));
            Assert.Equal(PostgresProblem.DimensionMismatch, wrongChunk.Problem);
            await Assert.ThrowsAsync<ArgumentException>(() => store.SearchVectorAsync(new float[32], 5));
        }

        var error = await Assert.ThrowsAsync<PostgresRetrievalException>(() => PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, new PostgresRetrievalOptions { Table = table }, new HashingEmbeddingGenerator(32)));
        Assert.Equal(PostgresProblem.DimensionMismatch, error.Problem);
        Assert.Contains("64-dimensional", error.Message, StringComparison.Ordinal);
        Assert.Contains("gives 32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_TableNotMadeByTheLibrary_IsRefused()
    {
        var table = fixture.NewTable("foreign");
        await using (var dataSource = NpgsqlDataSource.Create(fixture.Server.ConnectionString))
        await using (var command = dataSource.CreateCommand($"CREATE TABLE {table} (id int)"))
        {
            await command.ExecuteNonQueryAsync();
        }

        var error = await Assert.ThrowsAsync<PostgresRetrievalException>(() => PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, new PostgresRetrievalOptions { Table = table, Dimensions = 8 }));
        Assert.Equal(PostgresProblem.SchemaVersion, error.Problem);
    }

    [Theory]
    [InlineData("chunks\"; DROP TABLE llmadapt_chunks; --")]
    [InlineData("Chunks")]
    [InlineData("")]
    [InlineData("a_table_name_that_is_far_too_long_for_the_rule_of_forty")]
    public async Task Open_HostileOrInvalidTableName_IsRefusedBeforeAnySql(string table)
    {
        var error = await Assert.ThrowsAsync<InvalidOptionsException>(() => PostgresDocumentStore.OpenAsync(fixture.Server.ConnectionString, new PostgresRetrievalOptions { Table = table, Dimensions = 8 }));
        Assert.Contains("Table", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_ServerWithoutPgvector_SaysSo()
    {
        await using var server = await PgliteServer.StartAsync(withVector: false);
        var error = await Assert.ThrowsAsync<PostgresRetrievalException>(() => PostgresDocumentStore.OpenAsync(server.ConnectionString, new PostgresRetrievalOptions { Dimensions = 8, RetryDelay = TimeSpan.Zero }));
        Assert.Equal(PostgresProblem.MissingExtension, error.Problem);
        Assert.Contains("pgvector", error.Message, StringComparison.Ordinal);
    }
}
