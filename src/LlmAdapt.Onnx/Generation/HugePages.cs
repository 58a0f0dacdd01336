using System.Globalization;
using System.Runtime.InteropServices;

namespace LlmAdapt.Onnx.Generation;

/// <summary>
/// Backs the memory a new ONNX Runtime session allocated for its weights with transparent huge pages (Linux). A decode
/// step of a model of hundreds of megabytes streams every weight once, so with 4 KiB pages it is bound by TLB misses as
/// much as by memory bandwidth, and how fast it runs then depends on where the allocator happened to place the weights
/// (measured on the GPT-2-small shape: the session loaded second in a process ran 10–15 % faster per token than the
/// first). Linux's default THP mode (<c>madvise</c>) gives huge pages only to memory that asks: this asks, for the
/// anonymous mappings of 4 MiB and more that appeared while the session loaded, and collapses them at once
/// (<c>MADV_COLLAPSE</c>, Linux 6.1+; older kernels leave it to <c>khugepaged</c>). Contents are unchanged; any failure
/// leaves the pages as they were.
/// </summary>
internal static partial class HugePages
{
    private const int MadviseHugePage = 14;
    private const int MadviseCollapse = 25;
    private const long HugePage = 2L << 20;
    private const long Smallest = 4L << 20;

    /// <summary>The anonymous read-write mappings of this process now, or <see langword="null"/> where that cannot be read.</summary>
    public static HashSet<(long Start, long End)>? Snapshot()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        try
        {
            var set = new HashSet<(long Start, long End)>();
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                if (Parse(line) is { } range)
                {
                    set.Add(range);
                }
            }

            return set;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Asks for huge pages on the address ranges mapped since <paramref name="before"/> (the parts of the current
    /// mappings that no earlier mapping covered, so memory other code had already mapped is left alone); returns the
    /// bytes advised.
    /// </summary>
    public static long AdviseNew(HashSet<(long Start, long End)>? before)
    {
        if (before is null || Snapshot() is not { } after)
        {
            return 0;
        }

        long advised = 0;
        try
        {
            foreach (var (start, end) in NewRanges(before, after))
            {
                advised += Advise(start, end);
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // A C library without madvise under that name: the pages stay as they are.
        }

        return advised;
    }

    /// <summary>
    /// The parts of the mappings in <paramref name="after"/> of at least 4 MiB that no mapping in
    /// <paramref name="before"/> covered (the kernel merges adjacent mappings, so a new allocation next to an old one
    /// shows up as one larger mapping, of which only the new part is returned).
    /// </summary>
    internal static List<(long Start, long End)> NewRanges(IReadOnlyCollection<(long Start, long End)> before, IEnumerable<(long Start, long End)> after)
    {
        var earlier = before.OrderBy(r => r.Start).ToArray();
        var known = before.ToHashSet();
        var ranges = new List<(long Start, long End)>();
        foreach (var (start, end) in after.OrderBy(r => r.Start))
        {
            if (known.Contains((start, end)) || end - start < Smallest)
            {
                continue;
            }

            var at = start;
            foreach (var (oldStart, oldEnd) in earlier)
            {
                if (oldEnd <= at || oldStart >= end)
                {
                    continue;
                }

                if (oldStart > at)
                {
                    ranges.Add((at, oldStart));
                }

                at = Math.Max(at, oldEnd);
            }

            if (at < end)
            {
                ranges.Add((at, end));
            }
        }

        return ranges;
    }

    private static long Advise(long start, long end)
    {
        var from = (start + HugePage - 1) & ~(HugePage - 1);
        var to = end & ~(HugePage - 1);
        if (to - from < Smallest)
        {
            return 0;
        }

        // MADV_HUGEPAGE keeps later faults and khugepaged on huge pages; MADV_COLLAPSE converts what is there now.
        // Either may be refused (old kernel, THP off, no free huge pages): the memory then stays as it was.
        if (Madvise((nint)from, (nuint)(to - from), MadviseHugePage) != 0)
        {
            return 0;
        }

        _ = Madvise((nint)from, (nuint)(to - from), MadviseCollapse);
        return to - from;
    }

    private static (long Start, long End)? Parse(string line)
    {
        // "start-end perms offset dev inode [path]": private read-write, inode 0, no path (or the brk heap).
        var fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 5 || fields[1] != "rw-p" || fields[4] != "0" || (fields.Length == 6 && fields[5].Trim() is { Length: > 0 } path && path != "[heap]"))
        {
            return null;
        }

        var dash = fields[0].IndexOf('-', StringComparison.Ordinal);
        return dash > 0
            && long.TryParse(fields[0].AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
            && long.TryParse(fields[0].AsSpan(dash + 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end)
            ? (start, end)
            : null;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
