using System.Text;

namespace LlmAdapt.Formats;

/// <summary>Writes files a user keeps the safe way: to a temporary file beside the target, flushed, then renamed over it.</summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="contents"/> (UTF-8, no BOM) to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The target file; its folder is created if needed.</param>
    /// <param name="contents">The text.</param>
    /// <param name="cancellationToken">Stops before the rename; the target is then untouched.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public static Task WriteAllTextAsync(string path, string contents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(contents);
        return WriteAllBytesAsync(path, new UTF8Encoding(false).GetBytes(contents), cancellationToken);
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    /// <param name="path">The target file; its folder is created if needed.</param>
    /// <param name="bytes">The contents.</param>
    /// <param name="cancellationToken">Stops before the rename; the target is then untouched.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public static Task WriteAllBytesAsync(string path, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken = default) =>
        WriteAsync(path, (stream, token) => stream.WriteAsync(bytes, token).AsTask(), cancellationToken);

    /// <summary>
    /// Writes <paramref name="path"/> atomically from <paramref name="write"/>, which fills a stream over a temporary
    /// file beside the target; the file is flushed to disk and renamed over the target only when it returns.
    /// </summary>
    /// <param name="path">The target file; its folder is created if needed.</param>
    /// <param name="write">Writes the contents; it may wrap the stream (compression) but must not close it before returning.</param>
    /// <param name="cancellationToken">Passed to <paramref name="write"/>; stops before the rename, the target then untouched.</param>
    /// <returns>A task that completes when the file is in place.</returns>
    public static async Task WriteAsync(string path, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        var (full, temp) = Prepare(path);
        try
        {
            var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true);
            await using (stream.ConfigureAwait(false))
            {
                await write(stream, cancellationToken).ConfigureAwait(false);
                await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            cancellationToken.ThrowIfCancellationRequested();
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    /// <summary>Writes <paramref name="path"/> atomically from <paramref name="write"/>, synchronously (for writers with no async API).</summary>
    /// <param name="path">The target file; its folder is created if needed.</param>
    /// <param name="write">Writes the contents to a stream over a temporary file beside the target.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentNullException.ThrowIfNull(write);
        var (full, temp) = Prepare(path);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            TryDelete(temp);
        }
    }

    private static (string Full, string Temp) Prepare(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        return (full, Path.Combine(Path.GetDirectoryName(full)!, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp"));
    }

    private static void TryDelete(string temp)
    {
        try
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
        catch (IOException)
        {
            // Best effort: a leftover hidden temporary file is harmless; the original failure matters more.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }
}
