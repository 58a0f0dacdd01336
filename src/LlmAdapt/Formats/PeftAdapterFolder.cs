namespace LlmAdapt.Formats;

/// <summary>
/// PEFT LoRA adapter folders (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>): what is one, and where its
/// base checkpoint is. The training engine, the ONNX exporter and the command-line tool all ask here.
/// </summary>
public static class PeftAdapterFolder
{
    /// <summary>
    /// Returns whether <paramref name="path"/> is a LoRA adapter folder: it holds <c>adapter_config.json</c> and no
    /// checkpoint weights of its own (<c>model.safetensors</c> or a shard index).
    /// </summary>
    /// <param name="path">A folder.</param>
    /// <returns><see langword="true"/> for an adapter folder.</returns>
    public static bool IsAdapterFolder(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        return Directory.Exists(path) && File.Exists(Path.Combine(path, PeftAdapterConfig.FileName)) && !CheckpointWeightFiles.Exist(path);
    }

    /// <summary>
    /// Returns the full path of the base checkpoint an adapter names in <c>base_model_name_or_path</c>. One rule: a
    /// relative path is relative to the adapter folder (so an adapter saved beside its base moves with it); an absolute
    /// path is taken as it is.
    /// </summary>
    /// <param name="adapterDirectory">The adapter folder.</param>
    /// <param name="config">Its config.</param>
    /// <returns>The base checkpoint folder.</returns>
    /// <exception cref="ModelLoadException">The config names no base, or the base is not a folder; the message names the config file.</exception>
    public static string ResolveBase(string adapterDirectory, PeftAdapterConfig config)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(adapterDirectory);
        ArgumentNullException.ThrowIfNull(config);
        var full = Path.GetFullPath(adapterDirectory);
        var configFile = Path.Combine(full, PeftAdapterConfig.FileName);
        var named = config.BaseModelNameOrPath;
        if (string.IsNullOrWhiteSpace(named))
        {
            throw new ModelLoadException(configFile, "the adapter has no base_model_name_or_path; give the base checkpoint and the adapter separately.", null);
        }

        var resolved = Path.GetFullPath(Path.IsPathRooted(named) ? named : Path.Combine(full, named));
        return Directory.Exists(resolved)
            ? resolved
            : throw new ModelLoadException(configFile, $"base_model_name_or_path '{named}' is not a folder here ({resolved}); give the base checkpoint and the adapter separately.", null);
    }

    /// <summary>Reads an adapter folder's config and returns its base checkpoint (see <see cref="ResolveBase"/>).</summary>
    /// <param name="adapterDirectory">The adapter folder.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The base checkpoint folder.</returns>
    /// <exception cref="ModelLoadException">The config is missing or invalid, names no base, or the base is not a folder.</exception>
    public static async Task<string> ResolveBaseAsync(string adapterDirectory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(adapterDirectory);
        var config = await PeftAdapterConfig.ReadAsync(Path.GetFullPath(adapterDirectory), cancellationToken).ConfigureAwait(false);
        return ResolveBase(adapterDirectory, config);
    }
}
