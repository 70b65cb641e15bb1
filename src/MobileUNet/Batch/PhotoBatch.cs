using System.Buffers;
using System.Diagnostics;
using System.Threading.Channels;
using MobileUNet.Data;
using MobileUNet.Inference;
using MobileUNet.Video;

namespace MobileUNet.Batch;

/// <summary>How a batch run works. Defaults suit a small machine.</summary>
public sealed record BatchOptions
{
    public PhotoOutputKind Kinds { get; init; } = PhotoOutputs.Default;
    public CutoutFormat CutoutFormat { get; init; } = CutoutFormat.Png;
    /// <summary>Foreground when probability &gt;= this; null: the threshold the model records (<see cref="ISegmenter.Threshold"/>).</summary>
    public float? Threshold { get; init; }

    /// <summary>Photos per inference call.</summary>
    public int Batch { get; init; } = 4;

    /// <summary>Workers for each of decode, post-process and encode (inference is one batched caller).</summary>
    public int Workers { get; init; } = Environment.ProcessorCount;

    /// <summary>Photos waiting between two stages.</summary>
    public int QueueCapacity { get; init; } = 4;

    /// <summary>Bytes of photo buffers in flight at once (see <see cref="MemoryBudget"/>).</summary>
    public long MemoryBudgetBytes { get; init; } = 384L << 20;

    public ImageLimits Limits { get; init; } = ImageLimits.Default;

    /// <summary>Stop at the first photo that fails, with its error, instead of skipping it.</summary>
    public bool FailFast { get; init; }

    public void Validate()
    {
        if (Batch < 1) throw new ArgumentException($"{nameof(Batch)} must be at least 1.");
        if (Workers < 1) throw new ArgumentException($"{nameof(Workers)} must be at least 1.");
        if (QueueCapacity < 1) throw new ArgumentException("the queue capacity must be at least 1.");
        if (MemoryBudgetBytes < 1) throw new ArgumentException("the memory budget must be positive.");
        if (Threshold is < 0 or > 1) throw new ArgumentException($"{nameof(Threshold)} must be in [0, 1].");
        if (Kinds == PhotoOutputKind.None) throw new ArgumentException($"{nameof(Kinds)}: name at least one kind.");
    }
}

/// <summary>Live counters of a batch run, safe to read from another thread (the progress bar).</summary>
public sealed class BatchStats
{
    readonly Stopwatch wall = new();
    long done, failed;

    public IReadOnlyList<StageCounter> Stages { get; } = Enum.GetValues<Stage>().Select(s => new StageCounter(s)).ToArray();
    public StageCounter this[Stage s] => Stages[(int)s];
    public int Total { get; internal set; }
    public int Skipped { get; internal set; }
    public long Done => Interlocked.Read(ref done);
    public long Failed => Interlocked.Read(ref failed);
    public long Finished => Done + Failed;
    public TimeSpan Wall => wall.Elapsed;
    public double PhotosPerSecond => Wall.TotalSeconds > 0 ? Finished / Wall.TotalSeconds : 0;

    /// <summary>
    /// The stage with the most busy time per photo. With every core busy (the case on a small machine) it is the
    /// one that bounds the run; with idle cores, divide by its workers.
    /// </summary>
    public StageCounter Bottleneck => Stages.Where(s => s.Frames > 0).DefaultIfEmpty(Stages[0]).MaxBy(s => s.Busy.TotalMilliseconds / s.Frames)!;

    internal void AddDone() => Interlocked.Increment(ref done);
    internal void AddFailed() => Interlocked.Increment(ref failed);
    internal void Start() => wall.Start();
    internal void Stop() => wall.Stop();
}

/// <summary>What a batch run did. <see cref="StageMsPerPhoto"/>: busy milliseconds per photo in each stage.</summary>
public sealed record BatchSummary(
    int Total, long Done, int Skipped, IReadOnlyList<ManifestEntry> Failures, double WallSeconds, double PhotosPerSecond,
    IReadOnlyDictionary<string, double> StageMsPerPhoto, string Bottleneck, long PeakBudgetBytes, string Manifest);

/// <summary>
/// Segments a list of photos with bounded memory: decode -&gt; pre-process -&gt; batched inference -&gt; post-process
/// -&gt; encode, as the video pipeline, joined by bounded channels. Decode, post-process and encode run on several
/// workers (photos are independent, so their order does not matter; the manifest records completion order).
/// Memory is bounded twice: by the queues (photos in flight) and by a <see cref="MemoryBudget"/> in bytes
/// (reserved from the header before decoding), so ten 12 MP photos in flight cannot add up.
/// A photo that fails (unreadable, truncated, too large) is recorded and skipped; the others go on.
/// A photo is done when its outputs and its manifest line are on disk; a rerun skips it.
/// </summary>
public sealed class PhotoBatch(ISegmenter segmenter, BatchOptions options)
{
    public BatchStats Stats { get; } = new();

    public BatchSummary Run(IReadOnlyList<PhotoInput> photos, string outDir, Shard shard, Action<ManifestEntry>? onFailure = null, CancellationToken stop = default)
    {
        options.Validate();
        float threshold = options.Threshold ?? segmenter.Threshold;
        var composer = new PhotoComposer(options.Kinds, threshold, options.CutoutFormat);
        Directory.CreateDirectory(outDir);
        var complete = CompletePhotos(outDir, options.Kinds, options.CutoutFormat, photos.Select(p => p.Path).ToHashSet(StringComparer.Ordinal));
        var todo = photos.Where(p => !complete.Contains(p.Path)).ToList();
        Stats.Total = todo.Count;
        Stats.Skipped = photos.Count - todo.Count;
        using var manifest = new BatchManifest(Path.Combine(outDir, shard.ManifestName));
        var budget = new MemoryBudget(options.MemoryBudgetBytes);
        var failures = new List<ManifestEntry>();
        Stats.Start();
        try
        {
            RunAsync(todo, outDir, composer, threshold, manifest, budget, failures, onFailure, stop).GetAwaiter().GetResult();
        }
        finally { Stats.Stop(); }
        double finished = Math.Max(1, Stats.Finished);
        return new BatchSummary(photos.Count, Stats.Done, Stats.Skipped, failures, Stats.Wall.TotalSeconds, Stats.PhotosPerSecond,
            Stats.Stages.ToDictionary(s => s.Stage.ToString(), s => Math.Round(s.Busy.TotalMilliseconds / Math.Max(1, s.Frames), 2)),
            Stats.Bottleneck.Stage.ToString(), budget.Peak, manifest.Path);
    }

    /// <summary>
    /// Inputs (of <paramref name="among"/>, when given) that any manifest in the folder records as succeeded with all
    /// the outputs asked for, and whose files exist.
    /// </summary>
    public static HashSet<string> CompletePhotos(string outDir, PhotoOutputKind kinds, CutoutFormat cutout = CutoutFormat.Png, IReadOnlySet<string>? among = null)
    {
        var cutoutExtension = Path.GetExtension(PhotoOutputs.RelativePath("x", PhotoOutputKind.Cutout, cutout));
        var done = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in BatchManifest.ReadFolder(outDir))
        {
            if (!entry.Succeeded || (among is not null && !among.Contains(entry.Input))) continue;
            // A cutout asked for as WebP is not done by an earlier PNG one: compare the extension too.
            if (PhotoOutputs.Each(kinds).All(k => entry.Outputs!.TryGetValue(PhotoOutputs.Name(k), out var rel)
                    && (k != PhotoOutputKind.Cutout || rel.EndsWith(cutoutExtension, StringComparison.Ordinal))
                    && File.Exists(Path.Combine(outDir, rel))))
                done.Add(entry.Input);
        }
        return done;
    }

    async Task RunAsync(List<PhotoInput> todo, string outDir, PhotoComposer composer, float threshold, BatchManifest manifest, MemoryBudget budget,
                        List<ManifestEntry> failures, Action<ManifestEntry>? onFailure, CancellationToken stop)
    {
        int size = segmenter.Spec.InputSize, plane = size * size;
        int batchSize = Math.Min(options.Batch, segmenter.MaxBatch);
        Channel<PhotoJob> Queue() => Channel.CreateBounded<PhotoJob>(new BoundedChannelOptions(options.QueueCapacity));
        var decoded = Queue();
        var ready = Queue();
        var inferred = Queue();
        var composed = Queue();
        using var abort = CancellationTokenSource.CreateLinkedTokenSource(CancellationToken.None);
        int next = -1;
        var inFlight = new System.Collections.Concurrent.ConcurrentDictionary<PhotoJob, byte>();

        var decodeWorkers = Workers(options.Workers, async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                int i = Interlocked.Increment(ref next);
                if (i >= todo.Count) return;
                var job = new PhotoJob(todo[i]);
                inFlight[job] = 0;
                Timed(job, Stage.Decode, () => job.Decode(options.Limits, budget, composer.BytesPerPixel, abort.Token));
                await decoded.Writer.WriteAsync(job, abort.Token);
            }
        });
        var pre = Workers(1, async () =>
        {
            await foreach (var job in decoded.Reader.ReadAllAsync(abort.Token))
            {
                Timed(job, Stage.PreProcess, () =>
                {
                    job.Small = ArrayPool<byte>.Shared.Rent(plane * 4);
                    PhotoComposer.PreProcess(job, size);
                });
                await ready.Writer.WriteAsync(job, abort.Token);
            }
        });
        var infer = Workers(1, async () =>
        {
            // The batch's pixels side by side; the segmenter normalises them into its own input.
            var pixels = new byte[batchSize * plane * 4];
            var output = new float[batchSize * plane];
            var batch = new List<PhotoJob>(batchSize);
            while (await ready.Reader.WaitToReadAsync(abort.Token))
            {
                // Take what is waiting, up to a batch; never wait for a batch to fill (the tail of a run, slow decoding).
                batch.Clear();
                while (batch.Count < batchSize && ready.Reader.TryRead(out var job))
                {
                    if (job.Error is not null) await inferred.Writer.WriteAsync(job, abort.Token);
                    else batch.Add(job);
                }
                if (batch.Count == 0) continue;
                long t0 = Stopwatch.GetTimestamp();
                for (int b = 0; b < batch.Count; b++) batch[b].Small.AsSpan(0, plane * 4).CopyTo(pixels.AsSpan(b * plane * 4));
                segmenter.SegmentBatch(pixels.AsSpan(0, batch.Count * plane * 4), 4, batch.Count, output);
                long ticks = Stopwatch.GetTimestamp() - t0;
                for (int b = 0; b < batch.Count; b++)
                {
                    var job = batch[b];
                    job.Probabilities = ArrayPool<float>.Shared.Rent(plane);
                    output.AsSpan(b * plane, plane).CopyTo(job.Probabilities);
                    ArrayPool<byte>.Shared.Return(job.Small!);
                    job.Small = null;
                    job.Milliseconds[(int)Stage.Infer] = Stopwatch.GetElapsedTime(0, ticks / batch.Count).TotalMilliseconds;
                    Stats[Stage.Infer].Add(ticks / batch.Count);
                    await inferred.Writer.WriteAsync(job, abort.Token);
                }
            }
        });
        var post = Workers(options.Workers, async () =>
        {
            await foreach (var job in inferred.Reader.ReadAllAsync(abort.Token))
            {
                Timed(job, Stage.PostProcess, () => composer.Compose(job, size));
                await composed.Writer.WriteAsync(job, abort.Token);
            }
        });
        var encode = Workers(options.Workers, async () =>
        {
            await foreach (var job in composed.Reader.ReadAllAsync(abort.Token))
            {
                using (job)
                {
                    Dictionary<string, string>? outputs = null;
                    Timed(job, Stage.Encode, () => outputs = composer.Write(job, outDir, threshold));
                    var ms = job.Milliseconds;
                    var timings = new StageTimings(R(ms[0]), R(ms[1]), R(ms[2]), R(ms[3]), R(ms[4]));
                    var entry = job.Error is null
                        ? new ManifestEntry(job.Input.Path, outputs, job.Width, job.Height, Math.Round(job.ForegroundFraction, 6), timings, null)
                        : new ManifestEntry(job.Input.Path, null, null, null, null, null, job.Error);
                    manifest.Append(entry);
                    if (job.Error is null) Stats.AddDone();
                    else
                    {
                        Stats.AddFailed();
                        lock (failures) failures.Add(entry);
                        // Fail-fast ends the run with this error as its one line; otherwise report and go on.
                        if (options.FailFast) throw new InvalidDataException(job.Error);
                        onFailure?.Invoke(entry);
                    }
                }
                inFlight.TryRemove(job, out _);
            }
        });

        var stages = new[] { (decodeWorkers, decoded), (pre, ready), (infer, inferred), (post, composed) };
        foreach (var (task, queue) in stages)
            _ = task.ContinueWith(_ => queue.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
        var all = new[] { decodeWorkers, pre, infer, post, encode };
        foreach (var t in all)
            _ = t.ContinueWith(_ => abort.Cancel(), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        try
        {
            await Task.WhenAll(all);
        }
        catch
        {
            // Report the failing stage's own error, not the cancellations it caused in the others.
            var first = all.Where(t => t.IsFaulted).SelectMany(t => t.Exception!.InnerExceptions)
                .FirstOrDefault(e => e is not OperationCanceledException);
            if (first is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
            throw;
        }
        finally
        {
            foreach (var job in inFlight.Keys) job.Dispose();
        }

        static double R(double v) => Math.Round(v, 2);
    }

    /// <summary>Runs one stage's work on a photo, unless an earlier stage failed it; a photo's own failure is recorded, not thrown.</summary>
    void Timed(PhotoJob job, Stage stage, Action work)
    {
        if (job.Error is not null) return;
        long t0 = Stopwatch.GetTimestamp();
        try { work(); }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            job.Error = e.Message.ReplaceLineEndings(" ");
            // A failed photo gives its memory back at once.
            job.Dispose();
            return;
        }
        long ticks = Stopwatch.GetTimestamp() - t0 - (stage == Stage.Decode ? job.BudgetWaitTicks : 0);
        job.Milliseconds[(int)stage] = Stopwatch.GetElapsedTime(0, ticks).TotalMilliseconds;
        Stats[stage].Add(ticks);
    }

    static Task Workers(int count, Func<Task> body) =>
        Task.WhenAll(Enumerable.Range(0, count).Select(_ => Task.Run(body)));
}
