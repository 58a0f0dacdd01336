namespace LlmAdapt.Onnx.Export;

/// <summary>What <see cref="OnnxDecoderExporter.ExportAsync"/> wrote.</summary>
/// <param name="OutputDirectory">The model folder (loadable by <see cref="Generation.OnnxDecoderModel.Load"/> and ONNX Runtime GenAI).</param>
/// <param name="ModelPath">The ONNX file.</param>
/// <param name="ExternalDataPath">The external weights file, or <see langword="null"/> when the weights are inside <paramref name="ModelPath"/>.</param>
/// <param name="Layers">The number of transformer blocks.</param>
/// <param name="ParameterCount">The number of weights exported.</param>
/// <param name="MergedLoraModules">How many projections had a LoRA update merged in (0 without an adapter).</param>
/// <param name="TokenizerFiles">The tokenizer files copied into the folder (names only); empty when there were none.</param>
/// <param name="Architecture">The checkpoint's <c>model_type</c> the graph was built for: <c>gpt2</c> or <c>llama</c>.</param>
/// <param name="AdapterPath">The ONNX Runtime LoRA file (<c>adapter.onnx_adapter</c>) when the adapter was kept separate (<see cref="OnnxExportOptions.KeepLoraSeparate"/>), else <see langword="null"/>.</param>
/// <param name="SeparateLoraModules">How many projections take their LoRA update from graph inputs (0 unless the adapter was kept separate).</param>
public sealed record OnnxExportResult(
    string OutputDirectory,
    string ModelPath,
    string? ExternalDataPath,
    int Layers,
    long ParameterCount,
    int MergedLoraModules,
    IReadOnlyList<string> TokenizerFiles,
    string Architecture,
    string? AdapterPath = null,
    int SeparateLoraModules = 0);
