using Onnx;

namespace LlmAdapt.Onnx.Graph;

/// <summary>
/// Finds the hidden states between the layers of a BERT-family encoder graph and makes them graph outputs, so one run
/// gives every layer's per-token states (as Hugging Face's <c>output_hidden_states</c>): index 0 is the embedding
/// layer's output, index i the output of encoder layer i, the last is the model's own per-token output.
/// </summary>
/// <remarks>
/// A layer's input is recognised by what reads it, not by node names: the hidden states entering a self-attention
/// block are read by the query, key and value projections, so a tensor read by three or more <c>MatMul</c> nodes (or
/// by a fused <c>Attention</c> node) is the input of a layer. That holds whether layer normalisation is one
/// <c>LayerNormalization</c> node or spelled out in <c>ReduceMean</c>/<c>Sub</c>/<c>Pow</c>/… as in exports from
/// older PyTorch versions. The model's per-token output is the output of the last layer.
/// </remarks>
internal static class EncoderLayerOutputs
{
    /// <summary>The names the added outputs get: <c>llmadapt_hidden_states_{index}</c>.</summary>
    public const string OutputPrefix = "llmadapt_hidden_states_";

    /// <summary>
    /// Returns the names of the hidden-state tensors, embedding output first, the model's per-token output
    /// <paramref name="lastOutput"/> last.
    /// </summary>
    /// <exception cref="ModelLoadException">No layer input is found, or <paramref name="lastOutput"/> is not an output of the graph.</exception>
    public static IReadOnlyList<string> Find(ModelProto model, string displayPath, string lastOutput)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        if (!graph.Output.Any(o => o.Name == lastOutput))
        {
            throw new ModelLoadException(displayPath, $"'{lastOutput}' is not an output of the graph; its outputs are {string.Join(", ", graph.Output.Select(o => o.Name))}.", null);
        }

        var readers = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            var weight = node.OpType switch
            {
                "MatMul" => 1,
                "Attention" or "MultiHeadAttention" when node.Domain == OnnxModels.MicrosoftDomain => 3,
                _ => 0,
            };
            if (weight == 0 || node.Input.Count == 0)
            {
                continue;
            }

            // Only the activation side of a product counts (the weights are initializers or constants).
            var input = node.Input[0];
            readers[input] = readers.GetValueOrDefault(input) + weight;
        }

        // Nodes of an ONNX graph are in topological order, so the order in which layer inputs are produced is the
        // order of the layers.
        var states = new List<string>();
        foreach (var node in graph.Node)
        {
            foreach (var output in node.Output)
            {
                if (readers.GetValueOrDefault(output) >= 3 && output != lastOutput)
                {
                    states.Add(output);
                }
            }
        }

        if (states.Count == 0)
        {
            throw new ModelLoadException(displayPath, "no encoder layer found: no tensor is read by the query, key and value projections of a self-attention block.", null);
        }

        states.Add(lastOutput);
        return states;
    }

    /// <summary>
    /// Adds <paramref name="states"/> (from <see cref="Find"/>) as float outputs <c>[batch, sequence, hidden]</c>
    /// named <see cref="OutputPrefix"/><c>{index}</c>, through an <c>Identity</c> node each (the model's own output
    /// stays as it is).
    /// </summary>
    public static void AddOutputs(ModelProto model, IReadOnlyList<string> states, string lastOutput)
    {
        ArgumentNullException.ThrowIfNull(model);
        var graph = model.Graph;
        var template = graph.Output.First(o => o.Name == lastOutput);
        for (var i = 0; i < states.Count; i++)
        {
            var name = OutputPrefix + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (graph.Output.Any(o => o.Name == name))
            {
                continue;
            }

            graph.Node.Add(OnnxModels.Node("Identity", $"llmadapt_hidden_states_identity_{i}", [states[i]], [name]));
            var info = template.Clone();
            info.Name = name;
            graph.Output.Add(info);
        }
    }
}
