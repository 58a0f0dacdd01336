namespace LlmAdapt.Retrieval.Indexes;

/// <summary>
/// The English (Porter2, Snowball) stemmer, written from the algorithm's published description: it maps inflected
/// and derived forms to a common stem (<c>connection</c>, <c>connected</c> → <c>connect</c>). Input is expected
/// lower-case; the stemmer is stateless and thread-safe.
/// </summary>
public static class EnglishStemmer
{
    private static readonly Dictionary<string, string> s_exceptions1 = new(StringComparer.Ordinal)
    {
        ["skis"] = "ski", ["skies"] = "sky", ["dying"] = "die", ["lying"] = "lie", ["tying"] = "tie",
        ["idly"] = "idl", ["gently"] = "gentl", ["ugly"] = "ugli", ["early"] = "earli", ["only"] = "onli",
        ["singly"] = "singl", ["sky"] = "sky", ["news"] = "news", ["howe"] = "howe", ["atlas"] = "atlas",
        ["cosmos"] = "cosmos", ["bias"] = "bias", ["andes"] = "andes",
    };

    private static readonly HashSet<string> s_exceptions2 = new(StringComparer.Ordinal)
    {
        "inning", "outing", "canning", "herring", "earring", "proceed", "exceed", "succeed",
    };

    private static readonly (string Suffix, string Replacement)[] s_step2 =
    [
        ("ization", "ize"), ("ational", "ate"), ("fulness", "ful"), ("ousness", "ous"), ("iveness", "ive"),
        ("tional", "tion"), ("biliti", "ble"), ("lessli", "less"), ("entli", "ent"), ("ation", "ate"),
        ("alism", "al"), ("aliti", "al"), ("ousli", "ous"), ("iviti", "ive"), ("fulli", "ful"),
        ("enci", "ence"), ("anci", "ance"), ("abli", "able"), ("izer", "ize"), ("ator", "ate"), ("alli", "al"),
        ("bli", "ble"), ("ogi", "og"), ("li", string.Empty),
    ];

    private static readonly (string Suffix, string Replacement)[] s_step3 =
    [
        ("ational", "ate"), ("tional", "tion"), ("alize", "al"), ("icate", "ic"), ("iciti", "ic"), ("ative", string.Empty),
        ("ical", "ic"), ("ness", string.Empty), ("ful", string.Empty),
    ];

    private static readonly string[] s_step4 =
    [
        "ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ism", "ate", "iti", "ous", "ive", "ize", "ion",
        "al", "er", "ic",
    ];

    /// <summary>Returns the stem of <paramref name="word"/> (lower-case letters; other characters pass through).</summary>
    /// <param name="word">A lower-case word.</param>
    /// <returns>The stem; words of one or two letters are returned unchanged.</returns>
    public static string Stem(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word.Length <= 2)
        {
            return word;
        }

        if (s_exceptions1.TryGetValue(word, out var exception))
        {
            return exception;
        }

        var w = new Word(word);
        w.Prelude();
        w.MarkRegions();
        w.Step0();
        w.Step1a();
        if (s_exceptions2.Contains(w.ToString()))
        {
            return w.ToFinalString();
        }

        w.Step1b();
        w.Step1c();
        w.Step2();
        w.Step3();
        w.Step4();
        w.Step5();
        return w.ToFinalString();
    }

    // 'Y' marks a y that acts as a consonant; it is not a vowel.
    private static bool IsVowel(char c) => c is 'a' or 'e' or 'i' or 'o' or 'u' or 'y';

    private static bool IsDouble(char a, char b) => a == b && a is 'b' or 'd' or 'f' or 'g' or 'm' or 'n' or 'p' or 'r' or 't';

    private static bool IsValidLiEnding(char c) => c is 'c' or 'd' or 'e' or 'g' or 'h' or 'k' or 'm' or 'n' or 'r' or 't';

    private sealed class Word(string text)
    {
        private readonly System.Text.StringBuilder _b = new(text);
        private int _r1;
        private int _r2;

        public int Length => _b.Length;

        public override string ToString() => _b.ToString();

        public string ToFinalString() => _b.Replace('Y', 'y').ToString();

        public void Prelude()
        {
            if (_b.Length > 0 && _b[0] == '\'')
            {
                _b.Remove(0, 1);
            }

            if (_b.Length > 0 && _b[0] == 'y')
            {
                _b[0] = 'Y';
            }

            for (var i = 1; i < _b.Length; i++)
            {
                if (_b[i] == 'y' && IsVowel(_b[i - 1]))
                {
                    _b[i] = 'Y';
                }
            }
        }

        public void MarkRegions()
        {
            var s = _b.ToString();
            if (s.StartsWith("gener", StringComparison.Ordinal) || s.StartsWith("arsen", StringComparison.Ordinal))
            {
                _r1 = 5;
            }
            else if (s.StartsWith("commun", StringComparison.Ordinal))
            {
                _r1 = 6;
            }
            else
            {
                _r1 = RegionAfter(0);
            }

            _r2 = RegionAfter(_r1);
        }

        public void Step0()
        {
            if (EndsWith("'s'"))
            {
                Truncate(3);
            }
            else if (EndsWith("'s"))
            {
                Truncate(2);
            }
            else if (EndsWith("'"))
            {
                Truncate(1);
            }
        }

        public void Step1a()
        {
            if (EndsWith("sses"))
            {
                Replace(4, "ss");
            }
            else if (EndsWith("ied") || EndsWith("ies"))
            {
                Replace(3, Length - 3 > 1 ? "i" : "ie");
            }
            else if (EndsWith("us") || EndsWith("ss"))
            {
                // Left as is.
            }
            else if (EndsWith("s"))
            {
                // Delete when the part before the letter preceding the s holds a vowel (gaps → gap, but gas stays).
                for (var i = 0; i < Length - 2; i++)
                {
                    if (IsVowel(_b[i]))
                    {
                        Truncate(1);
                        break;
                    }
                }
            }
        }

        public void Step1b()
        {
            string? found = null;
            foreach (var suffix in (ReadOnlySpan<string>)["eedly", "ingly", "edly", "eed", "ing", "ed"])
            {
                if (EndsWith(suffix))
                {
                    found = suffix;
                    break;
                }
            }

            if (found is null)
            {
                return;
            }

            if (found is "eed" or "eedly")
            {
                if (Length - found.Length >= _r1)
                {
                    Replace(found.Length, "ee");
                }

                return;
            }

            var stemLength = Length - found.Length;
            var hasVowel = false;
            for (var i = 0; i < stemLength; i++)
            {
                if (IsVowel(_b[i]))
                {
                    hasVowel = true;
                    break;
                }
            }

            if (!hasVowel)
            {
                return;
            }

            Truncate(found.Length);
            if (EndsWith("at") || EndsWith("bl") || EndsWith("iz"))
            {
                _b.Append('e');
            }
            else if (Length >= 2 && IsDouble(_b[Length - 1], _b[Length - 2]))
            {
                Truncate(1);
            }
            else if (_r1 == Length && EndsInShortSyllable(Length))
            {
                _b.Append('e');
            }
        }

        public void Step1c()
        {
            if (Length > 2 && (_b[Length - 1] is 'y' or 'Y') && !IsVowel(_b[Length - 2]))
            {
                _b[Length - 1] = 'i';
            }
        }

        public void Step2()
        {
            foreach (var (suffix, replacement) in s_step2)
            {
                if (!EndsWith(suffix))
                {
                    continue;
                }

                if (Length - suffix.Length < _r1)
                {
                    return;
                }

                if (suffix == "ogi")
                {
                    if (Length > 3 && _b[Length - 4] == 'l')
                    {
                        Replace(3, replacement);
                    }
                }
                else if (suffix == "li")
                {
                    if (Length > 2 && IsValidLiEnding(_b[Length - 3]))
                    {
                        Truncate(2);
                    }
                }
                else
                {
                    Replace(suffix.Length, replacement);
                }

                return;
            }
        }

        public void Step3()
        {
            foreach (var (suffix, replacement) in s_step3)
            {
                if (!EndsWith(suffix))
                {
                    continue;
                }

                if (Length - suffix.Length < _r1)
                {
                    return;
                }

                if (suffix == "ative")
                {
                    if (Length - suffix.Length >= _r2)
                    {
                        Truncate(5);
                    }
                }
                else
                {
                    Replace(suffix.Length, replacement);
                }

                return;
            }
        }

        public void Step4()
        {
            foreach (var suffix in s_step4)
            {
                if (!EndsWith(suffix))
                {
                    continue;
                }

                if (Length - suffix.Length < _r2)
                {
                    return;
                }

                if (suffix == "ion")
                {
                    if (Length > 3 && _b[Length - 4] is 's' or 't')
                    {
                        Truncate(3);
                    }
                }
                else
                {
                    Truncate(suffix.Length);
                }

                return;
            }
        }

        public void Step5()
        {
            if (EndsWith("e"))
            {
                var before = Length - 1;
                if (before >= _r2 || (before >= _r1 && !EndsInShortSyllable(before)))
                {
                    Truncate(1);
                }
            }
            else if (EndsWith("l"))
            {
                if (Length - 1 >= _r2 && Length >= 2 && _b[Length - 2] == 'l')
                {
                    Truncate(1);
                }
            }
        }

        // A short syllable ends at 'end' (exclusive): non-vowel, vowel, non-vowel other than w, x or Y;
        // or, at the very start of the word, a vowel followed by a non-vowel.
        private bool EndsInShortSyllable(int end)
        {
            if (end >= 3)
            {
                var c = _b[end - 1];
                if (!IsVowel(c) && c is not ('w' or 'x' or 'Y') && IsVowel(_b[end - 2]) && !IsVowel(_b[end - 3]))
                {
                    return true;
                }
            }

            return end == 2 && IsVowel(_b[0]) && !IsVowel(_b[1]);
        }

        // The region after the first non-vowel that follows a vowel, searching from 'start'.
        private int RegionAfter(int start)
        {
            for (var i = start + 1; i < _b.Length; i++)
            {
                if (!IsVowel(_b[i]) && IsVowel(_b[i - 1]))
                {
                    return i + 1;
                }
            }

            return _b.Length;
        }

        private bool EndsWith(string suffix)
        {
            if (suffix.Length > _b.Length)
            {
                return false;
            }

            var offset = _b.Length - suffix.Length;
            for (var i = 0; i < suffix.Length; i++)
            {
                if (_b[offset + i] != suffix[i])
                {
                    return false;
                }
            }

            return true;
        }

        private void Truncate(int count) => _b.Length -= count;

        private void Replace(int count, string replacement)
        {
            _b.Length -= count;
            _b.Append(replacement);
        }
    }
}
