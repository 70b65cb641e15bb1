using System.Diagnostics;
using System.Threading.Channels;

namespace MobileUNet.Video;

/// <summary>The five stages, in order.</summary>
public enum Stage { Decode, PreProcess, Infer, PostProcess, Encode }

/// <summary>Live counters for one stage: frames done and the time spent working (not waiting on a queue).</summary>
public sealed class StageCounter(Stage stage)
{
    long frames, busyTicks;

    public Stage Stage { get; } = stage;
    public long Frames => Interlocked.Read(ref frames);
    public TimeSpan Busy => Stopwatch.GetElapsedTime(0, Interlocked.Read(ref busyTicks));

    /// <summary>Frames per second of busy time: the rate this stage could sustain alone.</summary>
    public double Fps => Busy.TotalSeconds > 0 ? Frames / Busy.TotalSeconds : 0;

    internal void AddFrameOnly() => Interlocked.Increment(ref frames);

    internal void Add(long ticks)
    {
        Interlocked.Add(ref busyTicks, ticks);
        Interlocked.Increment(ref frames);
    }
}

/// <summary>Live state of a run, safe to read from another thread (the progress display).</summary>
public sealed class PipelineStats
{
    readonly Stopwatch wall = new();

    public IReadOnlyList<StageCounter> Stages { get; } = Enum.GetValues<Stage>().Select(s => new StageCounter(s)).ToArray();
    public StageCounter this[Stage s] => Stages[(int)s];
    public TimeSpan Wall => wall.Elapsed;

    /// <summary>How long the first frame took to arrive (the decoder starting), left out of the decode rate.</summary>
    public TimeSpan Startup { get; internal set; }
    public long FramesDone => this[Stage.Encode].Frames;
    public double EndToEndFps => Wall.TotalSeconds > 0 ? FramesDone / Wall.TotalSeconds : 0;

    /// <summary>The stage with the lowest busy-time rate: the one that limits the whole pipeline.</summary>
    public StageCounter Bottleneck => Stages.Where(s => s.Frames > 0).DefaultIfEmpty(Stages[0]).MinBy(s => s.Fps)!;

    internal void Start() => wall.Start();
    internal void Stop() => wall.Stop();
}

internal sealed record PipelineOptions(int QueueCapacity = 4)
{
    /// <summary>Frames alive at once: one held by each stage plus a full queue between each pair.</summary>
    public int PoolSize => Enum.GetValues<Stage>().Length + QueueCapacity * (Enum.GetValues<Stage>().Length - 1);
}

/// <summary>
/// decode -> pre-process -> infer -> post-process -> encode, each stage on its own task, joined by bounded
/// channels so the stages overlap. Each stage is a single consumer of a FIFO, so frame order is kept without
/// reordering buffers. Frames come from a fixed <see cref="FramePool"/> and go back after encoding, so nothing is
/// allocated per frame and memory stays bounded whatever the encoder's speed.
/// </summary>
internal sealed class FramePipeline
{
    readonly FrameProcessor processor;
    readonly PipelineOptions options;

    public FramePipeline(FrameProcessor processor, PipelineOptions? options = null)
    {
        this.processor = processor;
        this.options = options ?? new PipelineOptions();
        if (this.options.QueueCapacity < 1) throw new ArgumentOutOfRangeException(nameof(options), "queue capacity must be at least 1");
        Pool = new FramePool(this.options.PoolSize, processor.CreateFrame);
    }

    public PipelineStats Stats { get; } = new();
    public FramePool Pool { get; }

    /// <summary>
    /// Runs until the source ends or <paramref name="stop"/> fires. Stopping ends decoding only: the frames already
    /// decoded drain through every stage into the sink, so the output ends cleanly. A stage failure aborts all.
    /// Returns true when the whole input was processed, false when stopped early.
    /// </summary>
    public async Task<bool> RunAsync(IFrameSource source, IFrameSink sink, CancellationToken stop = default)
    {
        var queues = Enumerable.Range(0, 4).Select(_ => Channel.CreateBounded<VideoFrame>(
            new BoundedChannelOptions(options.QueueCapacity) { SingleReader = true, SingleWriter = true })).ToArray();
        using var abort = new CancellationTokenSource();
        bool stopped = false;
        Stats.Start();

        var decode = Run(async () =>
        {
            try
            {
                for (long index = 0; !stop.IsCancellationRequested; index++)
                {
                    var frame = await Pool.TakeAsync(abort.Token);
                    long t0 = Stopwatch.GetTimestamp();
                    if (!source.ReadFrame(frame.Rgb))
                    {
                        Pool.Return(frame);
                        return;
                    }
                    // The first read waits for the decoder program to start: startup, not decoding speed.
                    if (index == 0) { Stats.Startup = Stopwatch.GetElapsedTime(t0); Stats[Stage.Decode].AddFrameOnly(); }
                    else Stats[Stage.Decode].Add(Stopwatch.GetTimestamp() - t0);
                    frame.Index = index;
                    await queues[0].Writer.WriteAsync(frame, abort.Token);
                }
                stopped = true;
            }
            finally { queues[0].Writer.TryComplete(); }
        });
        var pre = Transform(queues[0], queues[1], Stage.PreProcess, processor.PreProcess);
        var infer = Transform(queues[1], queues[2], Stage.Infer, processor.Infer);
        var post = Transform(queues[2], queues[3], Stage.PostProcess, processor.PostProcess);
        var encode = Run(async () =>
        {
            await foreach (var frame in queues[3].Reader.ReadAllAsync(abort.Token))
            {
                long t0 = Stopwatch.GetTimestamp();
                sink.WriteFrame(frame.Rgb, frame.Index);
                Stats[Stage.Encode].Add(Stopwatch.GetTimestamp() - t0);
                Pool.Return(frame);
            }
        });

        Task[] all = [decode, pre, infer, post, encode];
        async Task Run(Func<Task> body)
        {
            // Off the caller's context, and a failing stage cancels the others instead of leaving them blocked.
            try { await Task.Run(body); }
            catch (Exception) when (!abort.IsCancellationRequested) { abort.Cancel(); throw; }
        }
        Task Transform(Channel<VideoFrame> from, Channel<VideoFrame> to, Stage stage, Action<VideoFrame> work) => Run(async () =>
        {
            try
            {
                await foreach (var frame in from.Reader.ReadAllAsync(abort.Token))
                {
                    long t0 = Stopwatch.GetTimestamp();
                    work(frame);
                    Stats[stage].Add(Stopwatch.GetTimestamp() - t0);
                    await to.Writer.WriteAsync(frame, abort.Token);
                }
            }
            finally { to.Writer.TryComplete(); }
        });

        try
        {
            await Task.WhenAll(all);
        }
        catch
        {
            // Report the stage's own failure, not the cancellations it caused in the others.
            var first = all.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!)
                .FirstOrDefault(e => e is not OperationCanceledException);
            if (first is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(first);
            throw;
        }
        finally { Stats.Stop(); }
        return !stopped;
    }
}
