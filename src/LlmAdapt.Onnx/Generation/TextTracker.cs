using System.Text;
using Microsoft.ML.Tokenizers;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// Decodes generated ids into text as they arrive and watches for stop strings across token boundaries. Each step
/// decodes only a short window (the previous token as an anchor plus the new ones), so the cost per token is constant;
/// text that ends in an incomplete UTF-8 sequence is held until the next token completes it.
/// </summary>
internal sealed class TextTracker
{
    private readonly Tokenizer _tokenizer;
    private readonly IReadOnlyList<string> _stops;
    private readonly int _longestStop;
    private readonly List<int> _ids = [];
    private readonly StringBuilder _text = new();
    private int _prefixOffset;
    private int _readOffset;
    private int _emitted;

    public TextTracker(Tokenizer tokenizer, IReadOnlyList<string> stops)
    {
        _tokenizer = tokenizer;
        _stops = stops;
        _longestStop = stops.Count == 0 ? 0 : stops.Max(s => s.Length);
    }

    /// <summary>Gets whether a stop string was found; the text is already cut before it.</summary>
    public bool Stopped { get; private set; }

    /// <summary>Gets the text so far (cut before a stop string once one is found).</summary>
    public string Text => _text.ToString();

    /// <summary>Adds one generated id; returns <see langword="true"/> when the text now contains a stop string.</summary>
    public bool Append(int id)
    {
        if (Stopped)
        {
            return true;
        }

        _ids.Add(id);
        var before = _text.Length;
        DecodeWindow(final: false);
        if (_longestStop > 0 && _text.Length > before)
        {
            var from = Math.Max(0, before - _longestStop + 1);
            var cut = -1;
            var text = _text.ToString(from, _text.Length - from);
            foreach (var stop in _stops)
            {
                var at = text.IndexOf(stop, StringComparison.Ordinal);
                if (at >= 0 && (cut < 0 || at < cut))
                {
                    cut = at;
                }
            }

            if (cut >= 0)
            {
                _text.Length = from + cut;
                _emitted = Math.Min(_emitted, _text.Length);
                Stopped = true;
            }
        }

        return Stopped;
    }

    /// <summary>Decodes what is still held back (an incomplete character at the end).</summary>
    public void Flush()
    {
        if (!Stopped)
        {
            DecodeWindow(final: true);
        }
    }

    /// <summary>Returns text not yet returned that can no longer become part of a stop string (all of it when <paramref name="final"/>).</summary>
    public string TakeReady(bool final)
    {
        var end = _text.Length;
        if (!final && !Stopped)
        {
            end -= HeldBack();
        }

        if (end <= _emitted)
        {
            return string.Empty;
        }

        var ready = _text.ToString(_emitted, end - _emitted);
        _emitted = end;
        return ready;
    }

    private void DecodeWindow(bool final)
    {
        var window = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_ids);
        var prefix = _readOffset > _prefixOffset ? _tokenizer.Decode(window[_prefixOffset.._readOffset].ToArray()) : string.Empty;
        var full = _tokenizer.Decode(window[_prefixOffset..].ToArray());
        if (full.Length <= prefix.Length || (!final && full[^1] == '\uFFFD'))
        {
            return;
        }

        // The anchor token decodes the same way in both, so the difference is exactly the new text (a SentencePiece
        // word's leading space included).
        _text.Append(full.AsSpan(full.StartsWith(prefix, StringComparison.Ordinal) ? prefix.Length : 0));
        _prefixOffset = _readOffset;
        _readOffset = _ids.Count;
    }

    private int HeldBack()
    {
        // The longest suffix of the text that begins some stop string may still turn into it.
        var longest = 0;
        foreach (var stop in _stops)
        {
            for (var n = Math.Min(stop.Length - 1, _text.Length - _emitted); n > longest; n--)
            {
                if (EndsWith(stop.AsSpan(0, n)))
                {
                    longest = n;
                    break;
                }
            }
        }

        return longest;
    }

    private bool EndsWith(ReadOnlySpan<char> value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (_text[_text.Length - value.Length + i] != value[i])
            {
                return false;
            }
        }

        return true;
    }
}
