using System.Diagnostics;
using System.Threading.Channels;

namespace MobileUNet.Serve;

/// <summary>The queue was full: the caller answers 503 with Retry-After.</summary>
sealed class QueueFullException(string message) : Exception(message);

/// <summary>
/// Micro-batching: requests that arrive together share one model call. One worker takes the first waiting
/// request, then gathers more until <c>maxBatch</c> are in hand or <c>maxWait</c> has passed since it took the
/// first, and runs them as one batch; it waits only while another request is on its way (<see cref="Arrive"/>:
/// begun, not yet queued), so a lone request never waits for company that cannot come. Under load the next batch
/// fills while the current one runs, so batches grow by themselves even with a zero wait. Admission is bounded: at
/// most <c>maxQueue</c> requests wait (queued or gathered, not yet running); one more is refused at once rather than
/// queued without bound.
/// </summary>
sealed class MicroBatcher : IDisposable
{
    /// <summary>One image waiting for the model: its S x S RGBA pixels, and where its probabilities go.</summary>
    public sealed class Job(byte[] pixels, float[] probabilities, CancellationToken cancellation)
    {
        public byte[] Pixels { get; } = pixels;
        public float[] Probabilities { get; } = probabilities;
        public CancellationToken Cancellation { get; } = cancellation;
        internal TaskCompletionSource<BatchResult> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        internal long EnqueuedAt { get; set; }
    }

    /// <summary>What a job's batch was: its size, the job's wait in the queue, the model call's time.</summary>
    public sealed record BatchResult(int BatchSize, TimeSpan Queue, TimeSpan Inference);

    readonly BatchSegmenter segmenter;
    readonly ServeMetrics metrics;
    readonly TimeSpan maxWait;
    readonly int maxQueue;
    readonly Channel<Job> channel;
    readonly CancellationTokenSource stopping = new();
    readonly Task worker;
    long waiting, arriving;

    public MicroBatcher(BatchSegmenter segmenter, ServeMetrics metrics, TimeSpan maxWait, int maxQueue)
    {
        this.segmenter = segmenter;
        this.metrics = metrics;
        this.maxWait = maxWait;
        this.maxQueue = maxQueue;
        channel = Channel.CreateBounded<Job>(new BoundedChannelOptions(maxQueue) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        worker = Task.Run(RunAsync);
    }

    public int MaxBatch => segmenter.MaxBatch;

    /// <summary>
    /// A request has begun (reading, decoding) and will be queued soon: while any is on its way the worker waits,
    /// up to <c>maxWait</c>, for it to share the batch. Dispose the arrival once the job is queued
    /// (<see cref="SegmentAsync"/> does) or the request failed before it.
    /// </summary>
    public Arrival Arrive()
    {
        Interlocked.Increment(ref arriving);
        return new Arrival(this);
    }

    /// <summary>One request on its way to the queue; disposing it (once counts) says it arrived or never will.</summary>
    public sealed class Arrival(MicroBatcher batcher) : IDisposable
    {
        int done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref done, 1) == 0) Interlocked.Decrement(ref batcher.arriving);
        }
    }

    /// <summary>Queues a job and waits for its batch; throws <see cref="QueueFullException"/> when no place is free.</summary>
    public Task<BatchResult> SegmentAsync(Job job, Arrival? arrival = null)
    {
        // The job is in the channel before its arrival ends, so the worker always sees one or the other.
        using var arrived = arrival;
        if (Interlocked.Increment(ref waiting) > maxQueue)
        {
            metrics.QueueDepthChanged(Interlocked.Decrement(ref waiting));
            throw new QueueFullException($"the queue is full ({maxQueue} requests waiting for the model); retry shortly.");
        }
        metrics.QueueDepthChanged(Interlocked.Read(ref waiting));
        job.EnqueuedAt = Stopwatch.GetTimestamp();
        if (!channel.Writer.TryWrite(job))
        {
            metrics.QueueDepthChanged(Interlocked.Decrement(ref waiting));
            throw new QueueFullException("the service is shutting down.");
        }
        return job.Done.Task;
    }

    async Task RunAsync()
    {
        var reader = channel.Reader;
        var batch = new List<Job>(segmenter.MaxBatch);
        try
        {
            while (await reader.WaitToReadAsync(stopping.Token).ConfigureAwait(false))
            {
                batch.Clear();
                if (!reader.TryRead(out var first)) continue;
                batch.Add(first);
                await GatherAsync(reader, batch).ConfigureAwait(false);
                metrics.QueueDepthChanged(Interlocked.Add(ref waiting, -batch.Count));
                RunBatch(batch);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested) { }
        finally
        {
            foreach (var job in batch) job.Done.TrySetException(new QueueFullException("the service is shutting down."));
            while (reader.TryRead(out var left)) left.Done.TrySetException(new QueueFullException("the service is shutting down."));
        }
    }

    async Task GatherAsync(ChannelReader<Job> reader, List<Job> batch)
    {
        long deadline = Stopwatch.GetTimestamp() + (long)(maxWait.TotalSeconds * Stopwatch.Frequency);
        while (batch.Count < segmenter.MaxBatch)
        {
            if (reader.TryRead(out var job)) { batch.Add(job); continue; }
            // Nobody else is on the way: waiting would only delay this batch (a lone client would pay the whole wait).
            if (Interlocked.Read(ref arriving) == 0) return;
            long left = deadline - Stopwatch.GetTimestamp();
            if (left <= 0) return;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds((double)left / Stopwatch.Frequency));
            try
            {
                if (!await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false)) return;
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested) { return; }
        }
    }

    void RunBatch(List<Job> batch)
    {
        // A request that timed out or hung up while queued is dropped here, so it costs no model time.
        var live = new List<Job>(batch.Count);
        foreach (var job in batch)
        {
            if (job.Cancellation.IsCancellationRequested) job.Done.TrySetCanceled(job.Cancellation);
            else live.Add(job);
        }
        batch.Clear();
        if (live.Count == 0) return;
        long started = Stopwatch.GetTimestamp();
        try
        {
            for (int i = 0; i < live.Count; i++) segmenter.SetInput(i, live[i].Pixels, 4);
            segmenter.Run(live.Count);
            for (int i = 0; i < live.Count; i++) segmenter.OutputSlot(i).CopyTo(live[i].Probabilities);
        }
        catch (Exception e)
        {
            foreach (var job in live) job.Done.TrySetException(e);
            return;
        }
        var inference = Stopwatch.GetElapsedTime(started);
        metrics.CountBatch(live.Count, inference);
        foreach (var job in live)
            job.Done.TrySetResult(new BatchResult(live.Count, Stopwatch.GetElapsedTime(job.EnqueuedAt, started), inference));
    }

    public void Dispose()
    {
        channel.Writer.TryComplete();
        stopping.Cancel();
        try { worker.Wait(TimeSpan.FromSeconds(10)); }
        catch (AggregateException) { }
        stopping.Dispose();
    }
}
