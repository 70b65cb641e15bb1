using MobileUNet.Benchmarks;
using MobileUNet.Model;

namespace MobileUNet.Serve;

/// <summary>
/// One graph the bench page times: a part of an untrained MobileUNet, or one block at an encoder stage's shape
/// (<see cref="Stage"/> and <see cref="Block"/> set, <see cref="Part"/> null).
/// </summary>
sealed record BenchExportKey(ModelSpec Spec, BenchPart? Part, string? Stage = null, BlockKind? Block = null)
{
    public static BenchExportKey ForPart(ModelSpec spec, BenchPart part) =>
        // The encoder has no upsampling: one export serves every decoder variant's features.
        new(part == BenchPart.Encoder ? spec with { Upsampling = Upsampling.TransposedConv } : spec, part);

    public static BenchExportKey ForBlock(ModelSpec blockSpec, string stage, BlockKind kind) => new(blockSpec, null, stage, kind);

    public BlockShape Shape => BlockShape.EncoderStages(Spec).Single(s => s.Stage == Stage);

    public byte[] Export() => Part is { } part ? BenchExports.Untrained(Spec, part) : BenchExports.Block(Shape, Block!.Value);
}

/// <summary>
/// The bench page's exports, made once and kept in memory (a phone that reruns the page, or the next phone,
/// fetches the same graphs). One export at a time: each builds a torch model on the cores that serve requests.
/// Least recently used graphs leave once the cache holds more than <see cref="CapacityBytes"/>; the grid's
/// largest, alpha 1 full, is 27 MB, so the default keeps a whole alpha of the grid.
/// </summary>
sealed class BenchExportCache(long capacityBytes = BenchExportCache.DefaultCapacityBytes) : IDisposable
{
    public const long DefaultCapacityBytes = 256L << 20;

    readonly object gate = new();
    readonly Dictionary<BenchExportKey, LinkedListNode<(BenchExportKey Key, byte[] Bytes)>> entries = [];
    readonly LinkedList<(BenchExportKey Key, byte[] Bytes)> recency = new();
    readonly SemaphoreSlim exporting = new(1, 1);
    long bytes;
    int exports;

    public long CapacityBytes => capacityBytes;

    /// <summary>Exports made so far (cache misses).</summary>
    public int Exports => Volatile.Read(ref exports);

    /// <summary>Bytes held now.</summary>
    public long Bytes { get { lock (gate) return bytes; } }

    public async Task<byte[]> GetAsync(BenchExportKey key, CancellationToken cancellation)
    {
        if (TryGet(key) is { } hit) return hit;
        await exporting.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            // Another request may have made it while this one waited.
            if (TryGet(key) is { } made) return made;
            var graph = await Task.Run(key.Export, cancellation).ConfigureAwait(false);
            Interlocked.Increment(ref exports);
            Add(key, graph);
            return graph;
        }
        finally { exporting.Release(); }
    }

    byte[]? TryGet(BenchExportKey key)
    {
        lock (gate)
        {
            if (!entries.TryGetValue(key, out var node)) return null;
            recency.Remove(node);
            recency.AddFirst(node);
            return node.Value.Bytes;
        }
    }

    void Add(BenchExportKey key, byte[] graph)
    {
        lock (gate)
        {
            entries[key] = recency.AddFirst((key, graph));
            bytes += graph.Length;
            // The newest entry stays even when it alone is over the capacity: the request that made it gets it.
            while (bytes > capacityBytes && recency.Last is { } oldest && oldest != recency.First)
            {
                recency.RemoveLast();
                entries.Remove(oldest.Value.Key);
                bytes -= oldest.Value.Bytes.Length;
            }
        }
    }

    public void Dispose() => exporting.Dispose();
}
