namespace LlmAdapt.PostgreSql.Tests;

/// <summary>One PGlite server with pgvector for the whole test run.</summary>
public sealed class PgliteFixture : IAsyncLifetime
{
    private int _tables;

    internal PgliteServer Server { get; private set; } = null!;

    /// <summary>Returns a table name no other test uses.</summary>
    public string NewTable(string prefix) => $"{prefix}_{Interlocked.Increment(ref _tables)}";

    public async Task InitializeAsync() => Server = await PgliteServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class PgliteCollection : ICollectionFixture<PgliteFixture>
{
    public const string Name = "PGlite";
}
