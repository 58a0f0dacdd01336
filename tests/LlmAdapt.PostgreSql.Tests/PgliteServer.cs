using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LlmAdapt.PostgreSql.Tests;

// Also compiled into the benchmarks (compare postgres): one home for starting the test server.

/// <summary>
/// A real PostgreSQL for the tests: PGlite (PostgreSQL 18 compiled to WebAssembly) with the real pgvector extension,
/// behind its wire-protocol server on a free loopback port. The npm packages are installed from
/// tools/pglite/package-lock.json when missing (idempotent), so the test command works on a fresh machine with node.
/// Work-arounds for PGlite live here, not in the library: SSL off, and one connection per data source
/// (<c>Maximum Pool Size=1</c>). PGlite is one backend; its server's multiplexer (<c>-m</c>) lets several clients
/// connect, but it queues their protocol messages one by one, so two clients' extended-protocol queries interleave
/// (<c>34000: portal "" does not exist</c>) unless one of them is inside a transaction. With one connection per data
/// source and data sources used one after another, every command reaches the backend whole.
/// </summary>
internal sealed class PgliteServer : IAsyncDisposable
{
    private const int Connections = 8;
    private static readonly SemaphoreSlim s_install = new(1, 1);
    private static bool s_installed;
    private readonly bool _ownsDirectory;
    private Process? _process;

    private PgliteServer(string directory, bool ownsDirectory, bool withVector)
    {
        Directory = directory;
        _ownsDirectory = ownsDirectory;
        WithVector = withVector;
    }

    /// <summary>Gets the database folder (kept across a restart).</summary>
    public string Directory { get; }

    /// <summary>Gets whether the server loads pgvector.</summary>
    public bool WithVector { get; }

    /// <summary>Gets the port it listens on.</summary>
    public int Port { get; private set; }

    /// <summary>Gets a connection string for it.</summary>
    public string ConnectionString =>
        $"Host=127.0.0.1;Port={Port};Username=postgres;Password=secret-password;Database=postgres;SSL Mode=Disable;Maximum Pool Size=1;Timeout=30;Command Timeout=120;No Reset On Close=true";

    /// <summary>Starts a server on a new database folder.</summary>
    public static Task<PgliteServer> StartAsync(bool withVector = true)
    {
        var directory = Path.Combine(Path.GetTempPath(), "llmadapt-pglite-" + Guid.NewGuid().ToString("N"));
        return StartAsync(directory, ownsDirectory: true, withVector);
    }

    private static async Task<PgliteServer> StartAsync(string directory, bool ownsDirectory, bool withVector)
    {
        var server = new PgliteServer(directory, ownsDirectory, withVector);
        await server.StartProcessAsync();
        return server;
    }

    /// <summary>Kills the server process at once (no shutdown), as a crash would.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    /// <summary>Starts the server again on the same folder, on a new free port.</summary>
    public Task RestartAsync()
    {
        Kill();
        return StartProcessAsync();
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        if (_ownsDirectory)
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        await Task.CompletedTask;
    }

    private static string ToolsFolder => Path.Combine(TestData.RepositoryRoot, "tools", "pglite");

    private static string ServerScript => Path.Combine(ToolsFolder, "node_modules", "@electric-sql", "pglite-socket", "dist", "scripts", "server.js");

    private static async Task EnsureInstalledAsync()
    {
        await s_install.WaitAsync();
        try
        {
            if (s_installed || File.Exists(ServerScript))
            {
                s_installed = true;
                return;
            }

            // Two test assemblies may start at once on a fresh machine: one process installs, the other waits.
            using var installLock = await LockAsync(Path.Combine(ToolsFolder, ".install.lock"));
            if (File.Exists(ServerScript))
            {
                s_installed = true;
                return;
            }

            // npm ci from the lock file: the exact versions, nothing resolved anew.
            var npm = Process.Start(new ProcessStartInfo("npm", "ci --no-audit --no-fund")
            {
                WorkingDirectory = ToolsFolder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            }) ?? throw new InvalidOperationException("npm could not be started: install Node.js 20 or later.");
            var output = npm.StandardOutput.ReadToEndAsync();
            var error = npm.StandardError.ReadToEndAsync();
            await npm.WaitForExitAsync();
            if (npm.ExitCode != 0 || !File.Exists(ServerScript))
            {
                throw new InvalidOperationException($"npm ci in {ToolsFolder} failed ({npm.ExitCode}): {await output}{await error}");
            }

            s_installed = true;
        }
        finally
        {
            s_install.Release();
        }
    }

    private static async Task<FileStream> LockAsync(string path)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
            }
            catch (IOException) when (attempt < 600)
            {
                await Task.Delay(500);
            }
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private async Task StartProcessAsync()
    {
        await EnsureInstalledAsync();
        Port = FreePort();
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = ToolsFolder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(ServerScript);
        start.ArgumentList.Add($"--db={Directory}");
        start.ArgumentList.Add("--host=127.0.0.1");
        start.ArgumentList.Add($"--port={Port}");
        start.ArgumentList.Add($"--max-connections={Connections}");
        if (WithVector)
        {
            start.ArgumentList.Add("--extensions=@electric-sql/pglite-pgvector:vector");
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new System.Text.StringBuilder();
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) =>
        {
            lock (log)
            {
                log.AppendLine(e.Data);
            }

            if (e.Data?.Contains("listening", StringComparison.Ordinal) == true)
            {
                ready.TrySetResult();
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            lock (log)
            {
                log.AppendLine(e.Data);
            }
        };
        _process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("The PGlite server exited: " + log));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var timeout = Task.Delay(TimeSpan.FromSeconds(120));
        if (await Task.WhenAny(ready.Task, timeout) == timeout)
        {
            Kill();
            throw new TimeoutException("The PGlite server did not start within 120 s: " + log);
        }

        await ready.Task;
    }
}
